"""Real concurrent submits on PostgreSQL against quotas and paper numbers: never over-filled, never entered twice.

Each writer has its own connection and all start together (testkit.race), so they genuinely meet on the quota
rows' conditional updates and on the paper number's unique index.
"""

import pytest
from django.db import connection

from gongzhi.registry.models import Residence
from gongzhi.surveys import actions
from gongzhi.surveys.actions import SurveyError
from gongzhi.surveys.models import Quota, Response, Survey, SurveyHousehold
from gongzhi.surveys.tests.test_actions import PNG
from testkit import surveys as testing
from testkit.race import race
from testkit.world import make_user

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def _postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers")


def _setup(mini):
    sc = testing.build(mini)
    worker = make_user("cw", "community_worker", mini.community)
    survey = testing.make_survey(sc)
    frame = list(SurveyHousehold.objects.filter(survey=survey).order_by("path", "label"))
    return worker, survey, frame


def test_ten_households_racing_for_three_places_of_an_option(mini):
    worker, survey, frame = _setup(mini)
    quota = actions.add_quota(survey, actor=worker, kind="choice", question_key="items", choice_code="lift", maximum=3)

    def work(i):
        s = Survey.objects.get(pk=survey.pk)
        answers = {"aware": "yes", "satisfied": 5, "items": ["lift"]}
        return actions.submit_response(s, frame[i], actor=worker, answers=answers, channel="door").pk

    results, errors = race(len(frame), work)
    assert sum(r is not None for r in results) == 3, errors
    assert all(isinstance(e, SurveyError) and e.code == "quota_full" for e in errors if e is not None), errors
    quota.refresh_from_db()
    assert quota.filled == 3
    assert Response.objects.filter(survey=survey).count() == 3
    assert SurveyHousehold.objects.filter(survey=survey, taken=True).count() == 3  # the refused left no trace


def test_a_building_quota_under_concurrent_submits_and_a_quota_added_meanwhile(mini):
    worker, survey, frame = _setup(mini)
    b1 = [h for h in frame if h.building.name != "2号楼"]
    quota = actions.add_quota(survey, actor=worker, kind="building", building=b1[0].building, maximum=2)

    def work(i):
        s = Survey.objects.get(pk=survey.pk)
        if i == len(b1):  # an officer caps the option meanwhile: it counts only what has committed, then caps
            return actions.add_quota(
                s, actor=worker, kind="choice", question_key="items", choice_code="roof", maximum=1
            ).pk
        answers = {"aware": "yes", "satisfied": 4, "items": ["roof"]}
        return actions.submit_response(s, b1[i], actor=worker, answers=answers, channel="door").pk

    results, errors = race(len(b1) + 1, work)
    roof = Quota.objects.filter(survey=survey, kind="choice").first()
    accepted = Response.objects.filter(survey=survey).count()
    quota.refresh_from_db()
    assert quota.filled == accepted <= 2
    assert all(isinstance(e, SurveyError) and e.code == "quota_full" for e in errors[: len(b1)] if e), errors
    if roof is not None:  # added: it holds exactly the responses choosing the option, in flight ones included
        assert roof.filled == accepted <= 1
    else:  # refused: two had already committed, more than its maximum
        assert isinstance(errors[len(b1)], SurveyError) and errors[len(b1)].field == "maximum"
        assert accepted == 2


def test_one_paper_number_typed_in_for_several_households_is_entered_once(mini):
    worker, survey, frame = _setup(mini)

    def work(i):
        s = Survey.objects.get(pk=survey.pk)
        person = Residence.objects.filter(unit_id=frame[i].unit_id).first().person
        return actions.submit_response(
            s,
            frame[i],
            actor=worker,
            answers={"aware": "no"},
            channel="paper",
            scan=(PNG, "scan.png"),
            paper_number="P-0001",
            on_behalf_of=person,
        ).pk

    results, errors = race(6, work)
    assert sum(r is not None for r in results) == 1
    assert all(isinstance(e, SurveyError) and e.field == "paper_number" for e in errors if e is not None), errors
    assert Response.objects.filter(survey=survey, paper_number="P-0001").count() == 1
    assert SurveyHousehold.objects.filter(survey=survey, taken=True).count() == 1
