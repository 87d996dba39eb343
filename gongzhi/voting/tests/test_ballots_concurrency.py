"""Real concurrent writers on PostgreSQL: one ballot per head, none lost, an unbroken log.

Each thread has its own database connection (Django's connections are per thread) and all start together
at a barrier, so the inserts genuinely race on the (vote, roll_entry) constraint and on the log's sealing lock
(which a ballot that finds taken gives way to: its leaf waits for the next sealer, here the minute job's
`seal_all`, as in production).
"""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from gongzhi.registry import actions as registry
from gongzhi.voting import actions, receipts
from gongzhi.voting.actions import AlreadyVoted, VotingClosed
from gongzhi.voting.models import Ballot, BallotLogEntry, Vote
from gongzhi.voting.receipts import verify_ballot_log
from testkit.race import race
from testkit.voting import build_owners_compound, open_vote_now

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def _postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers")


def test_ten_writers_for_the_same_head_make_exactly_one_ballot(mini, persona):
    compound = build_owners_compound(mini)
    organiser = persona("community_worker")
    vote = open_vote_now(compound, organiser)
    entry = vote.roll.get(voter=compound.zhao)

    def work(i):
        v = Vote.objects.get(pk=vote.pk)
        return actions.cast_ballot(v, entry, actor=organiser, choice="yes" if i % 2 else "no", channel="door")

    results, errors = race(10, work)
    receipts.seal_all()
    assert sum(r is not None for r in results) == 1
    assert all(isinstance(e, AlreadyVoted) for e in errors if e is not None), errors
    assert Ballot.objects.filter(vote=vote).count() == 1
    vote.refresh_from_db()
    assert vote.ballot_count == 1 and vote.log_length == 1 and verify_ballot_log(vote) == []


def test_ten_retries_with_one_idempotency_key_return_one_receipt(mini, persona):
    compound = build_owners_compound(mini)
    organiser = persona("community_worker")
    vote = open_vote_now(compound, organiser)
    entry = vote.roll.get(voter=compound.qian)

    def work(i):
        v = Vote.objects.get(pk=vote.pk)
        return actions.cast_ballot(v, entry, actor=organiser, choice="yes", channel="phone", idempotency_key="same")

    results, errors = race(10, work)
    assert errors == [None] * 10
    assert len({r.receipt for r in results}) == 1 and sum(r.created for r in results) == 1
    assert Ballot.objects.filter(vote=vote).count() == 1


def test_many_heads_at_once_none_lost_none_doubled(mini, persona):
    compound = build_owners_compound(mini)
    organiser = persona("community_worker")
    for i in range(34):  # 40 heads in all
        unit = registry.create_unit(
            actor=None, node=mini.entrance, number=f"9{i:02d}", area_registered=Decimal("50.00")
        )
        owner = registry.create_person(actor=None, name=f"业主{i}", phone="13900000000")
        registry.add_ownership(actor=None, unit=unit, person=owner)
    vote = open_vote_now(compound, organiser)
    entries = list(vote.roll.all())
    assert len(entries) == 40

    def work(i):
        v = Vote.objects.get(pk=vote.pk)
        return actions.cast_ballot(
            v, entries[i], actor=organiser, choice="yes", channel="door", idempotency_key=f"k{i}"
        )

    results, errors = race(40, work)
    receipts.seal_all()
    assert errors == [None] * 40
    assert Ballot.objects.filter(vote=vote).count() == 40
    seqs = sorted(BallotLogEntry.objects.filter(vote=vote).values_list("seq", flat=True))
    assert seqs == list(range(1, 41))
    vote.refresh_from_db()
    assert vote.ballot_count == 40 and vote.participating_area == vote.total_area
    assert verify_ballot_log(vote) == []


def test_sustained_submission_from_32_threads_loses_and_doubles_nothing(mini, persona):
    """32 writers keep submitting until 200 heads have voted: every ballot is accepted once (the audit
    chains must not starve a ballot while it waits for the vote row — see actions.cast_ballot)."""
    compound = build_owners_compound(mini)
    organiser = persona("community_worker")
    for i in range(194):  # 200 heads in all
        unit = registry.create_unit(
            actor=None, node=mini.entrance, number=f"8{i:03d}", area_registered=Decimal("50.00")
        )
        owner = registry.create_person(actor=None, name=f"业主{i}", phone="13900000000")
        registry.add_ownership(actor=None, unit=unit, person=owner)
    vote = open_vote_now(compound, organiser)
    entries = list(vote.roll.all())
    assert len(entries) == 200
    pending = list(entries)
    lock = threading.Lock()

    def work(_i):
        v = Vote.objects.get(pk=vote.pk)
        done = 0
        while True:
            with lock:
                if not pending:
                    return done
                entry = pending.pop()
            actions.cast_ballot(v, entry, actor=organiser, choice="no", channel="door", idempotency_key=entry.token)
            done += 1

    results, errors = race(32, work)
    receipts.seal_all()
    assert errors == [None] * 32
    assert sum(results) == 200
    assert Ballot.objects.filter(vote=vote).count() == 200
    seqs = sorted(BallotLogEntry.objects.filter(vote=vote).values_list("seq", flat=True))
    assert seqs == list(range(1, 201))
    vote.refresh_from_db()
    assert vote.ballot_count == 200 and verify_ballot_log(vote) == []


def test_closing_waits_for_a_ballot_in_flight_and_a_later_ballot_is_refused(mini, persona):
    """No ballot holds the vote row for the others, yet none slips past the closing: a ballot share-locks the row,
    so `close_vote` waits for the ballots in flight (and counts them), and a ballot that waited finds it closed."""
    compound = build_owners_compound(mini)
    organiser = persona("community_worker")
    vote = open_vote_now(compound, organiser)
    before, after = vote.closes_at - timedelta(seconds=1), vote.closes_at + timedelta(seconds=1)
    in_flight, release = threading.Event(), threading.Event()
    order: list[str] = []
    stale = Vote.objects.get(pk=vote.pk)  # read while open: the in-memory check passes, the held one must not

    def slow_ballot():
        from django.db import transaction

        try:
            with transaction.atomic():
                v = Vote.objects.get(pk=vote.pk)
                actions.cast_ballot(
                    v, v.roll.get(voter=compound.zhang), actor=organiser, choice="yes", channel="door", now=before
                )
                in_flight.set()
                release.wait(10)
            order.append("ballot committed")
        finally:
            connection.close()

    def closing():
        try:
            in_flight.wait(10)
            threading.Timer(0.5, release.set).start()
            actions.close_vote(Vote.objects.get(pk=vote.pk), actor=organiser, now=after)
            order.append("closed")
        finally:
            connection.close()

    threads = [threading.Thread(target=slow_ballot), threading.Thread(target=closing)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert order == ["ballot committed", "closed"]
    vote.refresh_from_db()
    assert vote.status == Vote.Status.CLOSED and vote.ballot_count == 1
    assert vote.result["recount"]["participating_owners"] == 1
    with pytest.raises(VotingClosed):
        actions.cast_ballot(
            stale, vote.roll.get(voter=compound.li), actor=organiser, choice="yes", channel="door", now=before
        )
    assert Ballot.objects.filter(vote=vote).count() == 1 and verify_ballot_log(vote) == []
