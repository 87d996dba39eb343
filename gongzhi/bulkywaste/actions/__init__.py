"""Every change to bulky-waste collection goes through these functions: permission, transaction, audit entry,
side effects (SMS, planning) after commit. Split by subject; import from here (`actions.book(...)`):

- `booking`     booking and capacity: book, book_urgent, amend_booking, cancel_booking, stash_photo, reveal_contact
- `planning`    queue and solve a day's rounds: request_plan, plan_day (+ the background task)
- `collection`  the crew's day: open_stop, start_round, mark_item, complete_round; the resident's rate_service
- `dumping`     illegal-dumping reports: report_dumping, assign_dumping, resolve_dumping
- `messages`    every SMS a resident may get, the reminders
- `ledger`      the cost lines of a completed round
- `config`      save_config (admin, demo)

Checks of input live in `gongzhi.bulkywaste.inputs`, reads (areas, days, capacity, fees) in `selectors`; both are
re-exported here for callers that used them from the actions module.

Lock order, stated once for the app: a booking row first, then its items — never an item before its booking —
so two actions on one booking cannot deadlock; each lock is `select_for_update(of=("self",))` (a lock query that
joins must not lock the joined rows too on PostgreSQL).
"""

from gongzhi.bulkywaste.actions import ledger, messages, planning  # noqa: I001 - order: no cycle on first import
from gongzhi.bulkywaste.actions.booking import (
    amend_booking,
    book,
    book_urgent,
    cancel_booking,
    ensure_capacity_rows,
    merge_into,
    next_reference,
    reveal_contact,
    stash_photo,
)
from gongzhi.bulkywaste.actions.collection import complete_round, mark_item, open_stop, rate_service, start_round
from gongzhi.bulkywaste.actions.config import save_config
from gongzhi.bulkywaste.actions.dumping import assign_dumping, report_dumping, resolve_dumping
from gongzhi.bulkywaste.actions.ledger import write_ledger
from gongzhi.bulkywaste.actions.messages import rating_url, send_reminders
from gongzhi.bulkywaste.actions.planning import plan_day, queue_plan, request_plan, travel_matrix
from gongzhi.bulkywaste.inputs import (
    MAX_ITEMS,
    MAX_PHOTOS,
    Address,
    BookingError,
    BookingErrors,
    DuplicateBooking,
    ItemSpec,
    RatingError,
    address_of_compound,
    address_of_unit,
    approximate_location,
    check_contact,
    check_items,
    decide,
    free_address,
    item_problems,
    load_of,
    parse_coords,
    window_times,
)
from gongzhi.bulkywaste.selectors import (
    area_for,
    availability,
    calendar_for,
    cutoff,
    fee_for,
    first_free_day,
    serving_days,
    units_of,
)

__all__ = [
    "MAX_ITEMS",
    "MAX_PHOTOS",
    "Address",
    "BookingError",
    "BookingErrors",
    "DuplicateBooking",
    "ItemSpec",
    "RatingError",
    "address_of_compound",
    "address_of_unit",
    "amend_booking",
    "approximate_location",
    "area_for",
    "assign_dumping",
    "availability",
    "book",
    "book_urgent",
    "calendar_for",
    "cancel_booking",
    "check_contact",
    "check_items",
    "complete_round",
    "cutoff",
    "decide",
    "ensure_capacity_rows",
    "fee_for",
    "first_free_day",
    "free_address",
    "item_problems",
    "ledger",
    "load_of",
    "mark_item",
    "merge_into",
    "messages",
    "next_reference",
    "open_stop",
    "parse_coords",
    "plan_day",
    "planning",
    "queue_plan",
    "rate_service",
    "rating_url",
    "reveal_contact",
    "report_dumping",
    "request_plan",
    "resolve_dumping",
    "save_config",
    "send_reminders",
    "serving_days",
    "start_round",
    "stash_photo",
    "travel_matrix",
    "units_of",
    "window_times",
    "write_ledger",
]
