"""Bulky-waste permissions, as predicates used by pages, API, admin and actions alike (asked through
`gongzhi.core.gate`). Who holds which capability is data in `gongzhi.core.roles.CAPABILITIES` (`bulkywaste.*`,
`residents.act_for`); here those capabilities are combined with the object's state.

- A resident books for themself (`book_own`); hotline operators, community workers and property managers
  book for residents of their scope (`book_for_resident`, `book_compound`: capability `residents.act_for`).
- Dispatchers plan their areas, take urgent bookings and manage vehicles (`dispatch`).
- Crew members work the rounds of the vehicles they are crew of (`work_round`).
- Bookings are seen by whoever booked them, the person they were booked for, booking staff of the scope and the
  crew of a round that stops there (`view_booking`); changed while open by the booker, a proxy or a dispatcher
  of the scope (`change_booking`).
"""

from __future__ import annotations

import rules

from gongzhi.bulkywaste.models import Booking
from gongzhi.core.rules import holds

dispatches = holds("bulkywaste.dispatch")
books_for = holds("bulkywaste.book_for")
acts_for_residents = holds("residents.act_for")
sees_figures = holds("bulkywaste.figures")
handles_dumping = holds("bulkywaste.dumping")
configures = holds("bulkywaste.configure")
crew = holds("bulkywaste.crew")


@rules.predicate
def is_booker(user, booking) -> bool:
    if booking is None or not getattr(user, "is_authenticated", False):
        return False
    if booking.booked_by_id == user.pk:
        return True
    return bool(user.person_id) and booking.on_behalf_of_id == user.person_id


@rules.predicate
def is_crew_member(user) -> bool:
    """Holds the crew capability at all (a crew works where its vehicle goes, whatever the role's scope)."""
    return crew.test(user, None)


@rules.predicate
def is_crew_of_round(user, rnd) -> bool:
    if rnd is None or not is_crew_member.test(user):
        return False
    return rnd.vehicle.crew.filter(pk=user.pk).exists()


@rules.predicate
def is_crew_at_booking(user, booking) -> bool:
    if booking is None or not is_crew_member.test(user):
        return False
    return booking.stops.filter(round__vehicle__crew=user).exists()


@rules.predicate
def is_signed_in(user, obj=None) -> bool:
    return bool(getattr(user, "is_authenticated", False))


@rules.predicate
def is_open(user, booking) -> bool:
    return booking is not None and booking.status in Booking.OPEN


rules.add_perm("bulkywaste.book_own", is_signed_in)
rules.add_perm("bulkywaste.book_for_resident", books_for & acts_for_residents)  # booking staff who act for residents
rules.add_perm("bulkywaste.book_compound", books_for & acts_for_residents)
rules.add_perm("bulkywaste.dispatch", dispatches)
rules.add_perm("bulkywaste.view_bookings", books_for)  # the staff list of bookings of one's scope
rules.add_perm("bulkywaste.view_booking", is_booker | books_for | is_crew_at_booking)
rules.add_perm("bulkywaste.change_booking", is_open & (is_booker | acts_for_residents | dispatches))
rules.add_perm("bulkywaste.view_crew_page", is_crew_member | dispatches)
rules.add_perm("bulkywaste.work_round", is_crew_of_round | dispatches)
rules.add_perm("bulkywaste.view_figures", sees_figures)
rules.add_perm("bulkywaste.handle_dumping", handles_dumping)
rules.add_perm("bulkywaste.configure", configures)
