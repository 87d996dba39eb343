"""Deliberation permissions: the current stage says what is open; predicates check it (views don't re-decide).

Who:
- process officers (community worker, subdistrict staff, district admin in scope) run the process for the
  owning bodies (they keep the record: schedule meetings, amend, advance, answer objections);
- members of a body owning the current stage (a person with a current membership of an organisation of
  that kind covering the matter) act for their body;
- residents and owners of the matter's units give opinions and lodge objections;
- hotline operators, liaisons and workers in scope enter them for a resident (recorded as on-behalf-of).
"""

from __future__ import annotations

import rules

from gongzhi.core.rules import holds
from gongzhi.deliberation import clock, selectors
from gongzhi.deliberation.process import objection_window_open

is_process_officer = holds("deliberation.officer")
is_staff_here = holds("staff")
acts_for_residents_here = holds("residents.act_for")


@rules.predicate
def is_matter_resident(user, matter) -> bool:
    """The signed-in person lives in or owns (now) a unit of the matter's unit set."""
    if matter is None or not getattr(user, "is_authenticated", False) or not getattr(user, "person_id", None):
        return False
    cache = user.__dict__.setdefault("_gz_matter_resident", {})
    if matter.pk not in cache:
        cache[matter.pk] = selectors.person_units(matter, user.person_id).exists()
    return cache[matter.pk]


@rules.predicate
def is_body_member(user, matter) -> bool:
    """A current member of an organisation of a kind owning the matter's current stage, covering the matter."""
    if matter is None or not getattr(user, "is_authenticated", False) or not getattr(user, "person_id", None):
        return False
    bodies = list(matter.stage.bodies or [])
    if not bodies:
        return False
    cache = user.__dict__.setdefault("_gz_body_member", {})
    key = (matter.pk, matter.stage_id)
    if key not in cache:
        cache[key] = selectors.body_memberships(matter, bodies).filter(person_id=user.person_id).exists()
    return cache[key]


@rules.predicate
def matter_is_open(user, matter) -> bool:
    return matter is not None and not matter.outcome and not matter.stage.is_final


def _feature(name: str):
    @rules.predicate(name=f"stage_allows_{name}")
    def pred(user, matter) -> bool:
        return matter is not None and matter.stage.allows(name)

    return pred


stage_allows_opinion = _feature("opinion")
stage_allows_amend = _feature("amend")
stage_allows_meeting = _feature("meeting")
stage_allows_vote = _feature("vote")
stage_allows_report = _feature("report")


@rules.predicate
def stage_allows_objection(user, matter) -> bool:
    """The stage opens objections and its notice period has not ended."""
    return (
        matter is not None
        and matter.stage.allows("object")
        and objection_window_open(matter.stage.notice_days, matter.notice_ends_on, clock.today())
    )


runs_stage = is_process_officer | is_body_member

rules.add_perm("deliberation.add_matter", is_process_officer)
rules.add_perm("deliberation.view_matter", is_staff_here | is_matter_resident)
rules.add_perm("deliberation.view_opinions", is_staff_here)
rules.add_perm("deliberation.submit_opinion", matter_is_open & stage_allows_opinion & is_matter_resident)
rules.add_perm("deliberation.enter_opinion", matter_is_open & stage_allows_opinion & acts_for_residents_here)
# 以问卷征求需求: start a needs survey of the matter's households while its stage collects needs (一征).
rules.add_perm("deliberation.survey_needs", matter_is_open & stage_allows_opinion & is_process_officer)
rules.add_perm("deliberation.view_reach", acts_for_residents_here | is_process_officer)
rules.add_perm("deliberation.mark_reached", matter_is_open & stage_allows_opinion & acts_for_residents_here)
rules.add_perm("deliberation.amend_proposal", matter_is_open & stage_allows_amend & runs_stage)
rules.add_perm("deliberation.manage_meeting", matter_is_open & stage_allows_meeting & runs_stage)
rules.add_perm("deliberation.resolve_matter", matter_is_open & stage_allows_vote & runs_stage)
rules.add_perm("deliberation.lodge_objection", matter_is_open & stage_allows_objection & is_matter_resident)
rules.add_perm("deliberation.enter_objection", matter_is_open & stage_allows_objection & acts_for_residents_here)
rules.add_perm("deliberation.answer_objection", runs_stage)
rules.add_perm("deliberation.report_progress", matter_is_open & stage_allows_report & runs_stage)
rules.add_perm("deliberation.advance_matter", matter_is_open & runs_stage)
rules.add_perm("deliberation.return_matter", matter_is_open & is_process_officer)
rules.add_perm("deliberation.withdraw_matter", matter_is_open & is_process_officer)
rules.add_perm("deliberation.view_document", is_staff_here)
# The staff side of the pages: the list of matters in scope, a matter's full record, its meetings.
rules.add_perm("deliberation.view_staff_pages", is_staff_here)
