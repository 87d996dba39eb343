"""Real concurrent submits on PostgreSQL: one response per household, whatever the channel or the retry.

Each thread has its own connection and all start together at a barrier, so the writers genuinely race on the
frame row's conditional update and on the partial unique constraint.
"""

import pytest
from django.db import connection

from gongzhi.surveys import actions
from gongzhi.surveys.actions import SurveyError
from gongzhi.surveys.models import Response, Survey, SurveyHousehold
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


def test_ten_concurrent_submits_for_one_household_make_one_response(mini):
    sc = testing.build(mini)
    worker = make_user("cw", "community_worker", mini.community)
    survey = testing.make_survey(sc)
    h = SurveyHousehold.objects.filter(survey=survey).first()
    resident = make_user("res", "resident", mini.courtyard, person=sc.people[0])
    sc.people[0].residences.update(unit=h.unit)

    def work(i):
        s = Survey.objects.get(pk=survey.pk)
        if i % 2:
            return actions.submit_response(
                s, h, actor=resident, answers={"aware": "no"}, channel="online", identity_confirmed=True
            )
        return actions.submit_response(s, h, actor=worker, answers={"aware": "yes", "satisfied": 5}, channel="door")

    results, errors = race(10, work)
    assert sum(r is not None for r in results) == 1
    assert all(isinstance(e, SurveyError) and e.code == "duplicate" for e in errors if e is not None), errors
    assert Response.objects.filter(survey=survey).count() == 1
    assert SurveyHousehold.objects.get(pk=h.pk).taken


def test_ten_retries_with_one_key_return_the_same_response(mini):
    sc = testing.build(mini)
    worker = make_user("cw", "community_worker", mini.community)
    survey = testing.make_survey(sc)
    h = SurveyHousehold.objects.filter(survey=survey).first()

    def work(i):
        s = Survey.objects.get(pk=survey.pk)
        return actions.submit_response(
            s, h, actor=worker, answers={"aware": "no"}, channel="door", idempotency_key="same-key"
        ).pk

    results, errors = race(10, work)
    assert errors == [None] * 10
    assert len(set(results)) == 1 and Response.objects.count() == 1


def test_the_database_refuses_a_second_counted_response_for_a_household(mini):
    from django.db import IntegrityError, transaction

    sc = testing.build(mini)
    worker = make_user("cw", "community_worker", mini.community)
    survey = testing.make_survey(sc)
    h = SurveyHousehold.objects.filter(survey=survey).first()
    first = actions.submit_response(survey, h, actor=worker, answers={"aware": "no"}, channel="door")
    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.create(
            survey=survey, version=first.version, household=h, channel="door", submitted_at=first.submitted_at
        )
