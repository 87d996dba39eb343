"""Roles, and what each may do, as data in one place.

A role is always held at a node of the area tree (its scope) and covers that node and everything below it.
What a role may do is said once, here, as *capabilities*: `CAPABILITIES` maps each capability to the roles that
have it. Apps never keep role sets of their own: their `rules.py` builds predicates with
`gongzhi.core.rules.holds("capability")` and combines them with the object's state (a stage, a status), and
views, the API, the admin and actions ask the one gate (`gongzhi.core.gate`) for a named permission.

To add a part: add its capabilities below (one line each, with who has them), its permissions in its own
`rules.py`, and its URLs to the permission table its tests generate from.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class RoleSpec:
    code: str
    label: str
    staff: bool  # works in the back office (tables, exports) rather than the residents' pages


ROLES: dict[str, RoleSpec] = {
    r.code: r
    for r in [
        RoleSpec("district_admin", _("区级管理员"), staff=True),
        RoleSpec("subdistrict_staff", _("街道工作人员"), staff=True),
        RoleSpec("community_worker", _("社区工作者"), staff=True),
        RoleSpec("registry_officer", _("社区台账专管员"), staff=True),
        RoleSpec("hotline_operator", _("热线坐席"), staff=True),
        RoleSpec("party_liaison", _("党员联络员"), staff=True),
        RoleSpec("auditor", _("审计员"), staff=True),
        RoleSpec("resident", _("居民"), staff=False),
        RoleSpec("volunteer", _("志愿者"), staff=False),
        RoleSpec("dispatcher", _("清运调度员"), staff=True),
        RoleSpec("crew", _("清运队员"), staff=True),
        RoleSpec("contractor", _("施工单位"), staff=True),
        RoleSpec("property_manager", _("物业管理人员"), staff=True),
    ]
}

ROLE_CHOICES = [(code, spec.label) for code, spec in ROLES.items()]
STAFF_ROLES = frozenset(c for c, r in ROLES.items() if r.staff)

_OFFICERS = frozenset({"district_admin", "subdistrict_staff", "community_worker"})
_REGISTRY_EDITORS = _OFFICERS | {"registry_officer"}
_PROXIES = frozenset({"district_admin", "subdistrict_staff", "community_worker", "registry_officer"}) | {
    "hotline_operator",
    "party_liaison",
    "property_manager",
}

# capability -> the roles that have it. One line per capability; the comment says what it opens.
CAPABILITIES: dict[str, frozenset[str]] = {
    # --- the foundation -------------------------------------------------------------------------------------
    "staff": STAFF_ROLES,  # the back office of the scope: tables, lists, the registry read
    "registry.edit": _REGISTRY_EDITORS,  # change areas, units, owners; import rosters
    "organizations.edit": _REGISTRY_EDITORS,  # found and change organisations and memberships
    "pii.unmasked": frozenset({"district_admin", "registry_officer"}),  # full phone and ID numbers (needs TOTP)
    "pii.person_data": frozenset({"district_admin", "registry_officer"}),  # export or erase one person's data
    "residents.act_for": _PROXIES,  # enter things on a resident's behalf (hotline, door to door)
    "audit.read": frozenset({"district_admin", "auditor"}),  # the audit log
    "second_factor.manage": frozenset({"district_admin"}),  # issue enrolment codes, reset a lost phone
    "calendar.edit": frozenset({"district_admin"}),  # enter newly announced holidays and 调休 days (the admin)
    "registry.browse": STAFF_ROLES - {"crew", "contractor", "dispatcher"},  # the registry menu entries
    # --- deliberation, voting, notices ----------------------------------------------------------------------
    "deliberation.officer": _OFFICERS,  # run the 一征三议两公开 process for the owning bodies
    "voting.organise": _REGISTRY_EDITORS,  # call a vote, publish its roll, open, close, certify
    "voting.enter_ballots": _PROXIES - {"property_manager"},  # paper, phone, door-to-door and proxy ballots
    "voting.supervise": _REGISTRY_EDITORS | {"auditor"},  # inspect rolls and records after the close
    "voting.vote_online": frozenset({"resident"}),  # the "my votes" entry: one's own ballots and receipts
    "notices.publish": _REGISTRY_EDITORS,  # publish, change and withdraw notices
    # --- bulky waste ----------------------------------------------------------------------------------------
    "bulkywaste.dispatch": frozenset({"dispatcher", "district_admin"}),  # plan days, vehicles, urgent bookings
    "bulkywaste.book_for": frozenset(
        {
            "dispatcher",
            "district_admin",
            "subdistrict_staff",
            "community_worker",
            "hotline_operator",
            "property_manager",
        }
    ),  # bookings for residents of the scope
    "bulkywaste.figures": frozenset({"dispatcher", "district_admin", "subdistrict_staff", "community_worker"}),
    "bulkywaste.dumping": frozenset({"dispatcher", "district_admin", "subdistrict_staff", "community_worker"}),
    "bulkywaste.crew": frozenset({"crew"}),  # work the rounds of the vehicles one is crew of
    "bulkywaste.configure": frozenset({"district_admin"}),  # catalogue, fees, cost rates, service areas
    # --- renovation (老旧小区改造) ------------------------------------------------------------------------------
    "renovation.manage": _OFFICERS,  # menus, projects, plans, acceptance on the street-office side
    "renovation.take_orders": _PROXIES,  # 点单 door to door or by hotline, on a household's behalf
    "renovation.report_progress": frozenset({"contractor"}),  # the "tracker": progress on own projects only
    "renovation.inspect": _OFFICERS,  # quality and safety inspections; close defects as supervisor
    # --- surveys and the three rates ------------------------------------------------------------------------
    "surveys.manage": _OFFICERS,  # build, open and close surveys; review staff-entered responses
    "surveys.collect": _PROXIES,  # enter responses door to door, by hotline or from paper
    "surveys.rates": _REGISTRY_EDITORS | {"auditor"},  # the rates' data files
    # --- service desk (群众点单 → 社区派单 → 党员接单) ------------------------------------------------------------
    "servicedesk.dispatch": _OFFICERS,  # 派单, decide objections, extensions, 督办
    "servicedesk.take": frozenset({"party_liaison", "community_worker", "property_manager", "volunteer"}),  # 接单
    "servicedesk.intake": _PROXIES,  # 受理 on a caller's behalf; 回访 calls
    "servicedesk.open311_keys": frozenset({"district_admin"}),  # API keys of Open311 clients
}


def roles_with(capability: str) -> frozenset[str]:
    """The roles that have `capability` (a KeyError for an unknown one: a typo must not grant nothing quietly)."""
    return CAPABILITIES[capability]
