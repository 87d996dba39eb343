"""Ballots: one per head on any channel, idempotent retries, the vote window, the ballot log and receipts."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from gongzhi.voting import actions, receipts
from gongzhi.voting.actions import AlreadyVoted, VoteError, VotingClosed
from gongzhi.voting.models import Ballot, BallotLogEntry, Vote
from gongzhi.voting.receipts import verify_ballot_log
from gongzhi.voting.selectors import check_receipt
from testkit.voting import PDF, after_close, build_owners_compound, open_vote_now


@pytest.fixture
def compound(mini):
    return build_owners_compound(mini)


@pytest.fixture
def organiser(persona):
    return persona("community_worker")


@pytest.fixture
def vote(compound, organiser):
    return open_vote_now(compound, organiser)


def entry_of(vote, person):
    return vote.roll.get(voter=person)


@pytest.mark.django_db
def test_second_ballot_for_the_same_head_is_refused_with_the_first_channel_and_time(vote, compound, organiser):
    zhang = compound.account(compound.zhang)
    actions.cast_ballot(
        vote, entry_of(vote, compound.zhang), actor=zhang, choice="yes", channel="online", identity_confirmed=True
    )
    with pytest.raises(AlreadyVoted) as err:
        actions.cast_ballot(vote, entry_of(vote, compound.zhang), actor=organiser, choice="no", channel="door")
    assert err.value.status == 409
    assert "该户已投票（渠道：网上投票，时间：" in err.value.zh
    assert "this owner has already voted" in err.value.en
    assert Ballot.objects.filter(vote=vote).count() == 1
    vote.refresh_from_db()
    assert vote.ballot_count == 1 and vote.log_length == 1


@pytest.mark.django_db
def test_retry_with_the_same_idempotency_key_returns_the_first_result(vote, compound, organiser):
    entry = entry_of(vote, compound.zhao)
    first = actions.cast_ballot(vote, entry, actor=organiser, choice="yes", channel="phone", idempotency_key="k-1")
    again = actions.cast_ballot(vote, entry, actor=organiser, choice="yes", channel="phone", idempotency_key="k-1")
    assert first.created and not again.created
    assert again.ballot.pk == first.ballot.pk and again.receipt == first.receipt
    vote.refresh_from_db()
    assert vote.ballot_count == 1 and BallotLogEntry.objects.filter(vote=vote).count() == 1
    with pytest.raises(VoteError) as err:  # the same key for another head is a client bug, not a retry
        actions.cast_ballot(
            vote, entry_of(vote, compound.qian), actor=organiser, choice="yes", channel="phone", idempotency_key="k-1"
        )
    assert err.value.status == 409 and err.value.field == "idempotency_key"


@pytest.mark.django_db
def test_ballots_only_while_the_vote_is_open(compound, organiser):
    now = timezone.now()
    vote = actions.call_vote(
        actor=organiser,
        subject="选聘物业",
        matter="property_company",
        unit_set=compound.unit_set,
        opens_at=now - timedelta(minutes=5),
        closes_at=now + timedelta(hours=1),
    )
    entry = entry_of(vote, compound.zhao)
    with pytest.raises(VotingClosed):  # draft
        actions.cast_ballot(vote, entry, actor=organiser, choice="yes", channel="door")
    actions.publish_roll(vote, actor=organiser, now=now - timedelta(days=30))
    with pytest.raises(VotingClosed):  # roll published, not yet open
        actions.cast_ballot(vote, entry, actor=organiser, choice="yes", channel="door")
    actions.open_vote(vote, actor=organiser)
    with pytest.raises(VotingClosed):  # past the closing time, even before anyone closes it
        actions.cast_ballot(vote, entry, actor=organiser, choice="yes", channel="door", now=after_close(vote))
    actions.cast_ballot(vote, entry, actor=organiser, choice="yes", channel="door")
    actions.close_vote(vote, actor=organiser, now=after_close(vote))
    with pytest.raises(VotingClosed):
        actions.cast_ballot(vote, entry_of(vote, compound.qian), actor=organiser, choice="yes", channel="door")


@pytest.mark.django_db
def test_online_ballot_is_the_voter_s_own_after_sms_confirmation(vote, compound):
    zhang, li = compound.account(compound.zhang), compound.account(compound.li)
    with pytest.raises(VoteError) as err:
        actions.cast_ballot(vote, entry_of(vote, compound.zhang), actor=zhang, choice="yes", channel="online")
    assert err.value.field == "code"
    with pytest.raises(VoteError) as err:
        actions.cast_ballot(
            vote, entry_of(vote, compound.zhang), actor=li, choice="yes", channel="online", identity_confirmed=True
        )
    assert err.value.status == 403
    wang = compound.account(compound.wang)  # co-owner, but not the designated voter
    with pytest.raises(PermissionDenied):
        actions.cast_ballot(
            vote, entry_of(vote, compound.li), actor=wang, choice="yes", channel="online", identity_confirmed=True
        )
    with pytest.raises(PermissionDenied):  # residents cannot enter ballots for others
        actions.cast_ballot(vote, entry_of(vote, compound.zhao), actor=zhang, choice="yes", channel="door")


@pytest.mark.django_db
def test_worker_channels_need_scope_and_their_documents(vote, compound, organiser, persona, mini):
    entry = entry_of(vote, compound.zhao)
    with pytest.raises(PermissionDenied):
        actions.cast_ballot(
            vote,
            entry,
            actor=persona("community_worker", node=mini.other_subdistrict, username="far"),
            choice="yes",
            channel="door",
        )
    with pytest.raises(PermissionDenied):  # the property company's staff never enter ballots
        actions.cast_ballot(vote, entry, actor=persona("property_manager"), choice="yes", channel="door")
    with pytest.raises(VoteError) as err:
        actions.cast_ballot(vote, entry, actor=organiser, choice="yes", channel="paper")
    assert err.value.field == "attachment" and "扫描件" in err.value.zh
    scan = actions.attach_ballot_document(vote, actor=organiser, data=PDF, name="auth.pdf")
    with pytest.raises(VoteError) as err:
        actions.cast_ballot(vote, entry, actor=organiser, choice="yes", channel="proxy", attachment=scan)
    assert err.value.field == "proxy_name"
    with pytest.raises(VoteError) as err:
        actions.cast_ballot(vote, entry, actor=organiser, choice="maybe", channel="door")
    assert err.value.field == "choice"
    operator = persona("hotline_operator")
    result = actions.cast_ballot(vote, entry, actor=operator, choice="no", channel="phone")
    assert result.ballot.actor == operator and result.ballot.on_behalf_of == compound.zhao


@pytest.mark.django_db
def test_receipt_says_counted_as_cast_and_shows_the_choice_only_to_its_voter(vote, compound, organiser):
    zhang = compound.account(compound.zhang)
    result = actions.cast_ballot(
        vote, entry_of(vote, compound.zhang), actor=zhang, choice="no", channel="online", identity_confirmed=True
    )
    code = result.receipt
    assert len(code) == 14 and code.count("-") == 2
    public = check_receipt(code.lower().replace("-", " "))
    assert public.seq == 1 and public.vote == vote and public.choice is None
    assert check_receipt(code, user=zhang).choice == "no"
    assert check_receipt(code, user=compound.account(compound.li)).choice is None
    assert check_receipt("ABCD-EFGH-JKMN") is None
    assert check_receipt("not a code") is None
    # The public log carries a commitment, never the choice.
    entry = BallotLogEntry.objects.get(vote=vote)
    assert "no" not in (entry.commitment, entry.roll_token)
    assert entry.commitment == receipts.commitment(vote.pk, entry.roll_token, "no", result.ballot.salt)


@pytest.mark.django_db
def test_ballot_log_verification_finds_alteration_removal_and_changed_ballots(vote, compound, organiser):
    for person in (compound.zhang, compound.li, compound.zhao):
        actions.cast_ballot(vote, entry_of(vote, person), actor=organiser, choice="yes", channel="door")
    assert verify_ballot_log(vote) == []

    BallotLogEntry.objects.filter(vote=vote, seq=2).update(recorded_at=timezone.now())
    problems = verify_ballot_log(vote)
    assert problems and problems[0].seq == 2 and "altered" in problems[0].reason_en


@pytest.mark.django_db
def test_ballot_log_verification_finds_a_deleted_last_entry(vote, compound, organiser):
    for person in (compound.zhang, compound.li):
        actions.cast_ballot(vote, entry_of(vote, person), actor=organiser, choice="yes", channel="door")
    BallotLogEntry.objects.filter(vote=vote, seq=2)._raw_delete(BallotLogEntry.objects.db)
    vote.refresh_from_db()
    reasons = " ".join(p.reason_en for p in verify_ballot_log(vote))
    assert "tree root" in reasons and "missing from the log" in reasons


@pytest.mark.django_db
def test_ballot_log_verification_checks_the_votes_kept_counts_against_the_sealed_log(vote, compound, organiser):
    for person in (compound.zhang, compound.li):
        actions.cast_ballot(vote, entry_of(vote, person), actor=organiser, choice="yes", channel="door")
    vote.refresh_from_db()
    areas = sum(entry_of(vote, p).area for p in (compound.zhang, compound.li))
    assert (vote.ballot_count, vote.participating_area) == (2, areas) and verify_ballot_log(vote) == []

    Vote.objects.filter(pk=vote.pk).update(ballot_count=3)  # a counter that drifted (or was edited)
    vote.refresh_from_db()
    assert [p.reason_en for p in verify_ballot_log(vote)] == [
        "the vote's ballot count 3 differs from the 2 sealed log entries"
    ]
    Vote.objects.filter(pk=vote.pk).update(ballot_count=2, participating_area=areas + 1)
    vote.refresh_from_db()
    (problem,) = verify_ballot_log(vote)
    assert "participating area" in problem.reason_en and "参与面积" in problem.reason_zh


@pytest.mark.django_db
def test_verify_command_reports_each_vote(vote, compound, organiser, capsys):
    from django.core.management import call_command

    actions.cast_ballot(vote, entry_of(vote, compound.zhao), actor=organiser, choice="yes", channel="door")
    call_command("verify_ballot_log", str(vote.pk))
    assert "OK" in capsys.readouterr().out
    Ballot.objects.filter(vote=vote).update(choice="no")
    with pytest.raises(SystemExit):
        call_command("verify_ballot_log")
