"""Renovation permissions: capabilities from `core.roles` (holds) combined with the project's stage and with
the person's place in it (a household of the project, a member of its contractor or supervision group).

The contractor is CONSUL's "tracker": it reports progress and answers defects on its own projects only.
"""

from __future__ import annotations

import rules

from gongzhi.core.rules import holds
from gongzhi.organizations.models import Membership
from gongzhi.registry.actions import resolve_unit_set
from gongzhi.renovation.models import Defect, MenuItem, PlanLine, Project
from gongzhi.renovation.selectors import units_of_person


def _project(obj) -> Project | None:
    if obj is None:
        return None
    if isinstance(obj, Project):
        return obj
    project = getattr(obj, "project", None)
    if project is None and getattr(obj, "work_item", None) is not None:
        project = obj.work_item.project
    return project


def _member_of(user, org_id: int | None) -> bool:
    if not org_id or not getattr(user, "is_authenticated", False) or not getattr(user, "person_id", None):
        return False
    cache = user.__dict__.setdefault("_gz_renovation_member", {})
    if org_id not in cache:
        cache[org_id] = Membership.objects.filter(
            organization_id=org_id, person_id=user.person_id, until__isnull=True
        ).exists()
    return cache[org_id]


@rules.predicate
def is_project_contractor(user, obj=None) -> bool:
    """A current member of the project's contractor (施工单位)."""
    project = _project(obj)
    return project is not None and _member_of(user, project.contractor_id)


@rules.predicate
def is_project_supervisor(user, obj=None) -> bool:
    """A current member of the project's supervision group (议事监督小组)."""
    project = _project(obj)
    return project is not None and _member_of(user, project.supervisor_id)


@rules.predicate
def is_project_household(user, obj=None) -> bool:
    """Lives in or owns a unit of the project now."""
    project = _project(obj)
    if project is None or not getattr(user, "is_authenticated", False) or not getattr(user, "person_id", None):
        return False
    cache = user.__dict__.setdefault("_gz_renovation_household", {})
    if project.pk not in cache:
        mine = units_of_person(user.person_id)
        cache[project.pk] = bool(mine) and resolve_unit_set(project.unit_set).filter(pk__in=mine).exists()
    return cache[project.pk]


@rules.predicate
def is_signed_in(user, obj=None) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _stage_is(stage: str):
    @rules.predicate(name=f"stage_is_{stage}")
    def pred(user, obj=None) -> bool:
        project = _project(obj)
        return project is None or project.stage == stage

    return pred


is_ordering = _stage_is(Project.Stage.ORDERING)
in_works = _stage_is(Project.Stage.WORKS)


@rules.predicate
def not_accepted(user, obj=None) -> bool:
    project = _project(obj)
    return project is None or project.stage != Project.Stage.ACCEPTED


@rules.predicate
def orders_open(user, obj=None) -> bool:
    project = _project(obj)
    return project is None or (project.stage == Project.Stage.ORDERING and project.plan_adopted_at is None)


@rules.predicate
def defect_is_open(user, obj=None) -> bool:
    return isinstance(obj, Defect) and obj.status != Defect.Status.CLOSED


@rules.predicate
def menu_item_unplanned(user, obj=None) -> bool:
    """No project offering the item has adopted its plan: the item still shapes only open ordering.

    (The menu page sets `_gz_planned` on each item from one query; otherwise this asks the database.)
    """
    if not isinstance(obj, MenuItem):
        return True
    planned = getattr(obj, "_gz_planned", None)
    if planned is None:
        planned = PlanLine.objects.filter(item=obj).exists()
    return not planned


manages = holds("renovation.manage")
takes_orders = holds("renovation.take_orders")
inspects = holds("renovation.inspect")
tracker = holds("renovation.report_progress") & is_project_contractor
staff_here = holds("staff")

# Menus
rules.add_perm("renovation.view_menu", is_signed_in)
rules.add_perm("renovation.manage_menu", manages)
# Editing an item: its district's officers, until a project offering it adopts its plan (then the figures are
# the plan's and stay as adopted; the action also keeps what households have already agreed to).
rules.add_perm("renovation.change_menu_item", manages & menu_item_unplanned)
# Projects: staff of the scope, the project's households, contractor and supervision group see it
rules.add_perm(
    "renovation.view_project", staff_here | is_project_household | is_project_contractor | is_project_supervisor
)
rules.add_perm("renovation.add_project", manages)
rules.add_perm("renovation.change_project", manages & not_accepted)
# Plans (平面图) on which defects are placed: the project's officers upload them; whoever sees the project sees
# them (a household places its defect on one); the open defects drawn on a plan are the works staff's.
rules.add_perm("renovation.upload_plan", manages & not_accepted)
rules.add_perm(
    "renovation.view_plan", staff_here | is_project_household | is_project_contractor | is_project_supervisor
)
# Orders (点单) and the figures behind the plan
rules.add_perm("renovation.order", is_project_household & orders_open)
rules.add_perm("renovation.take_order", takes_orders & orders_open)
rules.add_perm("renovation.view_tallies", manages | takes_orders)
rules.add_perm("renovation.route_vote", manages & orders_open)
rules.add_perm("renovation.adopt_plan", manages & orders_open)
# Works: the contractor on its own project ("tracker"), officers too
rules.add_perm("renovation.report_progress", (tracker | manages) & in_works)
rules.add_perm("renovation.view_works", staff_here | is_project_contractor | is_project_supervisor)
rules.add_perm("renovation.inspect", inspects & in_works)
rules.add_perm(
    "renovation.report_defect",
    (inspects | is_project_supervisor | is_project_household | takes_orders) & in_works,
)
# Entering a resident's defect for them (hotline, door to door): those who take orders for households.
rules.add_perm("renovation.report_defect_for", takes_orders & in_works)
rules.add_perm("renovation.resolve_defect", is_project_contractor & in_works & defect_is_open)
rules.add_perm("renovation.answer_by_token", rules.always_allow)  # the token itself is checked by the action
rules.add_perm("renovation.close_defect", (is_project_supervisor | inspects) & in_works & defect_is_open)
# Acceptance (验收)
rules.add_perm("renovation.sign_as_supervision", is_project_supervisor & in_works)
rules.add_perm("renovation.sign_as_street_office", manages & in_works)
rules.add_perm("renovation.accept_project", manages & in_works)
# The satisfaction survey after the works: its frame of the households that ordered (any stage)
rules.add_perm("renovation.survey_frame", manages)
