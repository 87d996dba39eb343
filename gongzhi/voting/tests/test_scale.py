"""Freezing a roll and reading a vote cost the same number of queries whatever the electorate's size."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gongzhi.registry import actions as registry
from gongzhi.voting import actions
from gongzhi.voting.selectors import data_file, tally_vote, turnout
from testkit.voting import TOTAL_AREA, build_owners_compound

EXTRA_UNITS = 30
EXTRA_AREA = Decimal("55.55")


@pytest.fixture
def compound(mini):
    return build_owners_compound(mini)


@pytest.fixture
def organiser(persona):
    return persona("community_worker")


def queries(fn):
    with CaptureQueriesContext(connection) as ctx:
        value = fn()
    return value, len(ctx.captured_queries)


def costs(compound, organiser, subject: str):
    now = timezone.now()
    vote, freeze = queries(
        lambda: actions.call_vote(
            actor=organiser,
            subject=subject,
            matter="property_company",
            unit_set=compound.unit_set,
            opens_at=now + timedelta(days=40),
            closes_at=now + timedelta(days=47),
        )
    )
    _, tally = queries(lambda: tally_vote(vote))
    _, figures = queries(lambda: turnout(vote))
    _, recount = queries(lambda: data_file(vote))
    return vote, (freeze, tally, figures, recount)


@pytest.mark.django_db
def test_freeze_and_reads_cost_the_same_queries_at_two_sizes(compound, organiser):
    costs(compound, organiser, "预备")  # the organiser's roles are read once, then cached on the user
    small, small_costs = costs(compound, organiser, "选聘物业服务企业")
    entrance = compound.mini.entrance
    for i in range(EXTRA_UNITS):
        unit = registry.create_unit(actor=None, node=entrance, number=f"5{i:02d}", floor=5, area_registered=EXTRA_AREA)
        owner = registry.create_person(actor=None, name=f"业主{i}", phone=f"1390000{i:04d}")
        registry.add_ownership(actor=None, unit=unit, person=owner)
    large, large_costs = costs(compound, organiser, "续聘物业服务企业")

    assert (small.total_heads, small.total_units, small.total_area) == (6, 8, TOTAL_AREA)
    assert (large.total_heads, large.total_units) == (6 + EXTRA_UNITS, 8 + EXTRA_UNITS)
    assert large.total_area == TOTAL_AREA + EXTRA_UNITS * EXTRA_AREA  # exact, no rounding
    assert large_costs == small_costs
    assert small_costs[1:] == (1, 1, 2)
