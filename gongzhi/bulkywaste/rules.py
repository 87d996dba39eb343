"""Bulky-waste permissions, as predicates used by pages, API and admin alike.

- A resident books for themself (`book_own`); hotline operators, community workers and property managers
  book for residents of their scope (`book_for_resident`, the core `acts_for_residents` predicate).
- Dispatchers plan their areas, take urgent bookings and manage vehicles (`dispatch`).
- Crew members work the rounds of the vehicles they are crew of (`work_round`).
- Bookings are seen by whoever booked them, the person they were booked for, staff of the scope and the
  crew of a round that stops there.
"""

from __future__ import annotations

import rules

from gongzhi.core.rules import acts_for_residents, has_role

DISPATCH_ROLES = frozenset({"dispatcher", "district_admin"})
BOOKING_STAFF_ROLES = frozenset(
    {"dispatcher", "district_admin", "subdistrict_staff", "community_worker", "hotline_operator", "property_manager"}
)
FIGURES_ROLES = frozenset({"dispatcher", "district_admin", "subdistrict_staff", "community_worker"})
DUMPING_ROLES = frozenset({"dispatcher", "district_admin", "subdistrict_staff", "community_worker"})
CREW_ROLES = frozenset({"crew"})


def _path(obj) -> str | None:
    if obj is None:
        return None
    for attr in ("path",):
        value = getattr(obj, attr, None)
        if value:
            return value
    area = getattr(obj, "area", None)  # vehicles
    if area is not None:
        return area.path
    plan = getattr(obj, "plan", None)  # rounds
    if plan is not None:
        return plan.area.path
    return ""


def _roles_predicate(name: str, roles: frozenset[str]):
    @rules.predicate(name=name)
    def pred(user, obj=None) -> bool:
        return has_role(user, roles, _path(obj))

    return pred


is_dispatcher = _roles_predicate("bulky_is_dispatcher", DISPATCH_ROLES)
is_booking_staff = _roles_predicate("bulky_is_booking_staff", BOOKING_STAFF_ROLES)
sees_figures = _roles_predicate("bulky_sees_figures", FIGURES_ROLES)
handles_dumping = _roles_predicate("bulky_handles_dumping", DUMPING_ROLES)


@rules.predicate
def is_booker(user, booking) -> bool:
    if booking is None or not getattr(user, "is_authenticated", False):
        return False
    if booking.booked_by_id == user.pk:
        return True
    return bool(user.person_id) and booking.on_behalf_of_id == user.person_id


@rules.predicate
def is_crew_of_round(user, rnd) -> bool:
    if rnd is None or not has_role(user, CREW_ROLES):
        return False
    return rnd.vehicle.crew.filter(pk=user.pk).exists()


@rules.predicate
def is_crew_at_booking(user, booking) -> bool:
    if booking is None or not has_role(user, CREW_ROLES):
        return False
    return booking.stops.filter(round__vehicle__crew=user).exists()


@rules.predicate
def is_signed_in(user, obj=None) -> bool:
    return bool(getattr(user, "is_authenticated", False))


@rules.predicate
def is_open(user, booking) -> bool:
    from gongzhi.bulkywaste.models import Booking

    return booking is not None and booking.status in Booking.OPEN


rules.add_perm("bulkywaste.book_own", is_signed_in)
rules.add_perm("bulkywaste.book_for_resident", acts_for_residents)
rules.add_perm("bulkywaste.book_compound", acts_for_residents)
rules.add_perm("bulkywaste.dispatch", is_dispatcher)
rules.add_perm("bulkywaste.view_booking", is_booker | is_booking_staff | is_crew_at_booking)
rules.add_perm("bulkywaste.change_booking", is_open & (is_booker | acts_for_residents | is_dispatcher))
rules.add_perm("bulkywaste.work_round", is_crew_of_round | is_dispatcher)
rules.add_perm("bulkywaste.view_figures", sees_figures)
rules.add_perm("bulkywaste.handle_dumping", handles_dumping)
rules.add_perm("bulkywaste.configure", _roles_predicate("bulky_configures", frozenset({"district_admin"})))
