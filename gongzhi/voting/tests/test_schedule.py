"""Votes open and close on time by the scheduler (`manage.py advance_votes`), with the same checks as by hand."""

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from gongzhi.core.models import AuditEntry
from gongzhi.voting import actions
from gongzhi.voting.models import Vote
from testkit.voting import build_owners_compound

SH = ZoneInfo("Asia/Shanghai")
PUBLISHED = datetime(2026, 3, 2, 10, 0, tzinfo=SH)  # a Monday; 15 days' notice end 03-17, voting from 03-18
OPENS = datetime(2026, 3, 20, 9, 0, tzinfo=SH)
CLOSES = datetime(2026, 3, 27, 18, 0, tzinfo=SH)


@pytest.fixture
def vote(mini, persona):
    compound = build_owners_compound(mini)
    organiser = persona("community_worker")
    vote = actions.call_vote(
        actor=organiser,
        kind=Vote.Kind.OWNER,
        subject="选聘物业服务企业",
        matter="property_company",
        unit_set=compound.unit_set,
        opens_at=OPENS,
        closes_at=CLOSES,
    )
    actions.publish_roll(vote, actor=organiser, now=PUBLISHED)
    return vote


def status(vote) -> str:
    vote.refresh_from_db()
    return vote.status


@pytest.mark.django_db
def test_a_vote_opens_at_its_time_and_closes_at_its_time_once(vote):
    assert actions.advance_due_votes(now=OPENS - timedelta(seconds=1)) == ([], [])
    assert status(vote) == Vote.Status.ROLL_PUBLISHED
    assert actions.advance_due_votes(now=OPENS) == ([vote.pk], [])
    assert status(vote) == Vote.Status.OPEN and vote.opened_at == OPENS
    assert actions.advance_due_votes(now=OPENS + timedelta(minutes=1)) == ([], [])  # nothing twice
    assert actions.advance_due_votes(now=CLOSES - timedelta(seconds=1)) == ([], [])
    assert actions.advance_due_votes(now=CLOSES) == ([], [vote.pk])
    assert status(vote) == Vote.Status.CLOSED and vote.result and vote.passed is not None
    assert actions.advance_due_votes(now=CLOSES + timedelta(hours=1)) == ([], [])
    entries = AuditEntry.objects.filter(action__in=["voting.open_vote", "voting.close_vote"]).order_by("id")
    assert [(e.action, e.actor_id) for e in entries] == [("voting.open_vote", None), ("voting.close_vote", None)]


@pytest.mark.django_db
def test_a_vote_whose_notice_period_is_not_over_is_left_alone(vote):
    Vote.objects.filter(pk=vote.pk).update(opens_at=datetime(2026, 3, 10, 9, 0, tzinfo=SH))  # before 03-18
    assert actions.advance_due_votes(now=datetime(2026, 3, 12, 9, 0, tzinfo=SH)) == ([], [])
    assert status(vote) == Vote.Status.ROLL_PUBLISHED
    assert actions.advance_due_votes(now=datetime(2026, 3, 18, 0, 1, tzinfo=SH)) == ([vote.pk], [])


@pytest.mark.django_db
def test_a_vote_that_missed_its_whole_window_waits_for_staff_to_reschedule(vote):
    assert actions.advance_due_votes(now=CLOSES + timedelta(days=1)) == ([], [])
    assert status(vote) == Vote.Status.ROLL_PUBLISHED  # never opened, so never closed with no ballots


@pytest.mark.django_db
def test_the_command(vote):
    out = StringIO()
    call_command("advance_votes", "--now", "2026-03-20T09:00:00", stdout=out)
    assert "opened: 1" in out.getvalue() and status(vote) == Vote.Status.OPEN
