"""Role × stage matrix for deliberation's permissions (adhocracy4 style: before, during and after each stage).

For every stage of the default 一征三议两公开 template, a matter is put at that stage and every stage-bound
permission is asked for each role. The expected answer is read from the data, not from the predicates: the
stage's features in `process.DEFAULT_STAGES` and the roles' capabilities in `core.roles.CAPABILITIES`. So a
feature is open during the stages that list it, and closed before and after them.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from gongzhi.core.roles import CAPABILITIES
from gongzhi.deliberation import actions
from gongzhi.deliberation.models import Matter, StageDefinition
from gongzhi.deliberation.process import DEFAULT_STAGES
from gongzhi.deliberation.tests.builders import courtyard_set
from testkit.world import make_user

TODAY = date(2026, 9, 1)
OFFICERS = CAPABILITIES["deliberation.officer"]
PROXIES = CAPABILITIES["residents.act_for"]
STAFF = CAPABILITIES["staff"]

# permission -> (the stage feature it needs or None for "any open stage", the roles that may, in scope)
STAGE_BOUND = {
    "deliberation.enter_opinion": ("opinion", PROXIES),
    "deliberation.mark_reached": ("opinion", PROXIES),
    "deliberation.survey_needs": ("opinion", OFFICERS),  # 以问卷征求需求: 一征 only
    "deliberation.amend_proposal": ("amend", OFFICERS),
    "deliberation.manage_meeting": ("meeting", OFFICERS),
    "deliberation.resolve_matter": ("vote", OFFICERS),
    "deliberation.report_progress": ("report", OFFICERS),
    "deliberation.enter_objection": ("object", PROXIES),
    "deliberation.advance_matter": (None, OFFICERS),
    "deliberation.return_matter": (None, OFFICERS),
    "deliberation.withdraw_matter": (None, OFFICERS),
}
# Not bound to a stage: the same answer at every stage (closed included).
ANY_STAGE = {
    "deliberation.view_matter": STAFF,
    "deliberation.view_opinions": STAFF,
    "deliberation.view_document": STAFF,
    "deliberation.view_reach": PROXIES | OFFICERS,
    "deliberation.answer_objection": OFFICERS,
}
ROLES = ("community_worker", "hotline_operator", "registry_officer", "auditor", "property_manager", "resident", "crew")


@pytest.fixture
def matter(mini, monkeypatch):
    from gongzhi.deliberation import clock

    monkeypatch.setattr(clock, "today", lambda: TODAY)
    officer = make_user("stage-officer", "community_worker", mini.community)
    return actions.create_matter(actor=officer, title="加装电梯", unit_set=courtyard_set(mini), summary="征求意见")


def at_stage(matter: Matter, code: str) -> Matter:
    stage = StageDefinition.objects.get(template=matter.template, code=code)
    Matter.objects.filter(pk=matter.pk).update(stage=stage, notice_ends_on=TODAY + timedelta(days=7))
    return Matter.objects.select_related("stage", "template").get(pk=matter.pk)


@pytest.mark.django_db
def test_each_stage_opens_exactly_its_features_to_the_roles_that_have_them(mini, matter):
    users = {role: make_user(f"stage-{role}", role, mini.community) for role in ROLES}
    wrong = []
    for _order, code, _name, _en, _bodies, features, notice_days, _kind in DEFAULT_STAGES:
        m = at_stage(matter, code)
        open_ = code != "closed"
        for perm, (feature, roles) in STAGE_BOUND.items():
            during = open_ and (feature is None or feature in features)
            if feature == "object":
                during = during and bool(notice_days)
            for role, user in users.items():
                want = during and role in roles
                if user.has_perm(perm, m) != want:
                    wrong.append(f"{code}: {role} {perm} should be {want}")
        for perm, roles in ANY_STAGE.items():
            for role, user in users.items():
                if user.has_perm(perm, m) != (role in roles):
                    wrong.append(f"{code}: {role} {perm} should be {role in roles}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db
def test_every_feature_is_closed_before_and_after_its_stages(mini, matter):
    """The matrix above, read the other way: for each feature, the stages before its first and after its last."""
    officer = make_user("stage-officer-2", "community_worker", mini.community)
    operator = make_user("stage-operator", "hotline_operator", mini.community)
    codes = [code for _o, code, *_rest in DEFAULT_STAGES]
    for perm, (feature, roles) in STAGE_BOUND.items():
        if feature is None:
            continue
        user = officer if "community_worker" in roles else operator
        during = [code for _o, code, _n, _e, _b, features, *_r in DEFAULT_STAGES if feature in features]
        assert during, f"no stage opens {feature}"
        first, last = codes.index(during[0]), codes.index(during[-1])
        for code in codes[:first] + codes[last + 1 :]:
            assert not user.has_perm(perm, at_stage(matter, code)), f"{perm} open at {code}"
        assert user.has_perm(perm, at_stage(matter, during[0])), f"{perm} closed at {during[0]}"
