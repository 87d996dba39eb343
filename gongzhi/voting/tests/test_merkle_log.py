"""The ballot log as a Merkle tree with signed heads: the tree functions against RFC 6962's definitions, sealing
in batches (pending leaves, the minute job, the closing), inclusion proofs anyone can check, and tampering found."""

import hashlib
import importlib
import json
from datetime import UTC, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from gongzhi.voting import actions, merkle, receipts
from gongzhi.voting.models import Ballot, BallotLogEntry, BallotTreeHead, Vote
from gongzhi.voting.receipts import verify_ballot_log
from gongzhi.voting.selectors import check_receipt
from testkit.voting import build_owners_compound, open_vote_now

# ------------------------------------------------------------------------------------------ the tree itself


def _leaves(n):
    return [merkle.leaf_hash(f"leaf {i}".encode()) for i in range(n)]


def test_an_empty_tree_and_a_one_leaf_tree_are_as_rfc_6962_defines_them():
    assert merkle.root([]) == hashlib.sha256(b"").hexdigest()
    leaf = merkle.leaf_hash(b"x")
    assert leaf == hashlib.sha256(b"\x00x").hexdigest()
    assert merkle.root([leaf]) == leaf


def test_a_three_leaf_tree_splits_at_the_largest_power_of_two_below_its_size():
    a, b, c = _leaves(3)
    assert merkle.root([a, b, c]) == merkle.node_hash(merkle.node_hash(a, b), c)
    assert merkle.node_hash(a, b) == hashlib.sha256(b"\x01" + bytes.fromhex(a) + bytes.fromhex(b)).hexdigest()


def test_the_frontier_gives_the_same_root_as_the_whole_tree_at_every_size():
    leaves = _leaves(70)
    frontier: list[str] = []
    for n, leaf in enumerate(leaves):
        assert merkle.frontier_root(frontier) == merkle.root(leaves[:n])
        frontier = merkle.append(frontier, n, leaf)
        assert len(frontier) == bin(n + 1).count("1")
    assert merkle.frontier_root(frontier) == merkle.root(leaves)


def test_every_inclusion_path_verifies_and_a_wrong_one_does_not():
    leaves = _leaves(33)
    for size in range(1, 34):
        root = merkle.root(leaves[:size])
        for index in range(size):
            path = merkle.inclusion_path(index, leaves[:size])
            assert merkle.verify_inclusion(leaves[index], index, size, path, root), (index, size)
            other = (index + 1) % size
            if other != index:
                assert not merkle.verify_inclusion(leaves[index], other, size, path, root)
            if path:
                bad = [*path[:-1], merkle.leaf_hash(b"forged")]
                assert not merkle.verify_inclusion(leaves[index], index, size, bad, root)
            assert not merkle.verify_inclusion(leaves[index], index, size, path, merkle.leaf_hash(b"other root"))
    assert not merkle.verify_inclusion(leaves[0], 5, 5, [], leaves[0])


# ------------------------------------------------------------------------------------------ the log


@pytest.fixture
def compound(mini):
    return build_owners_compound(mini)


@pytest.fixture
def organiser(persona):
    return persona("community_worker")


@pytest.fixture
def vote(compound, organiser):
    return open_vote_now(compound, organiser)


def _cast(vote, person, organiser, choice="yes"):
    return actions.cast_ballot(vote, vote.roll.get(voter=person), actor=organiser, choice=choice, channel="door")


def _give_way():
    """Every ballot finds the vote being sealed by someone else: its leaf stays pending."""
    real = actions._hold_open

    def hold_without_the_lock(vote, now):
        real(vote, now)
        return False

    return mock.patch.object(actions, "_hold_open", hold_without_the_lock)


@pytest.mark.django_db
def test_at_low_load_each_ballot_seals_itself_and_signs_a_head(vote, compound, organiser):
    for person in (compound.zhang, compound.li, compound.zhao):
        result = _cast(vote, person, organiser)
        assert result.entry.seq is not None
    vote.refresh_from_db()
    leaves = list(BallotLogEntry.objects.filter(vote=vote).order_by("seq").values_list("leaf_hash", flat=True))
    assert vote.log_length == vote.ballot_count == 3
    assert vote.log_head == merkle.root(leaves)
    heads = list(BallotTreeHead.objects.filter(vote=vote))
    assert [h.tree_size for h in heads] == [1, 2, 3]
    key = receipts.public_key()
    for h in heads:
        at = h.sealed_at.astimezone(UTC).isoformat()
        assert merkle.verify_head_signature(key, vote.pk, h.tree_size, h.root_hash, at, h.signature)
        assert not merkle.verify_head_signature(key, vote.pk + 1, h.tree_size, h.root_hash, at, h.signature)
    assert verify_ballot_log(vote) == []


@pytest.mark.django_db
def test_pending_leaves_are_counted_when_sealed_by_the_next_ballot_or_the_minute_job(vote, compound, organiser):
    with _give_way():
        first = _cast(vote, compound.zhang, organiser)
        second = _cast(vote, compound.li, organiser)
    assert first.entry.seq is None and second.entry.seq is None
    vote.refresh_from_db()
    assert vote.ballot_count == 0 and vote.log_length == 0  # turnout counts sealed ballots
    assert verify_ballot_log(vote) == []  # pending leaves of an open vote are in order
    found = check_receipt(first.receipt)
    assert found is not None and found.seq is None  # counted, number to come

    third = _cast(vote, compound.zhao, organiser)  # finds the lock free: seals all three, in the order written
    assert third.entry.seq == 3
    assert [e.roll_token for e in BallotLogEntry.objects.filter(vote=vote).order_by("seq")] == [
        first.entry.roll_token,
        second.entry.roll_token,
        third.entry.roll_token,
    ]
    assert BallotTreeHead.objects.filter(vote=vote).count() == 1  # one head for the batch of three

    with _give_way():
        _cast(vote, compound.qian, organiser)
    opened, closed = actions.advance_due_votes()
    assert (opened, closed) == ([], [])
    vote.refresh_from_db()
    assert vote.ballot_count == 4 and vote.log_length == 4
    assert verify_ballot_log(vote) == []


@pytest.mark.django_db
def test_closing_seals_everything_before_counting(vote, compound, organiser):
    with _give_way():
        for person in (compound.zhang, compound.li, compound.zhao):
            _cast(vote, person, organiser, choice="yes")
    closing = vote.closes_at + timedelta(seconds=1)
    actions.close_vote(vote, actor=organiser, now=closing)
    vote.refresh_from_db()
    assert vote.ballot_count == 3 and vote.log_length == 3
    assert vote.result["recount"]["participating_owners"] == 3
    assert not BallotLogEntry.objects.filter(vote=vote, seq__isnull=True).exists()
    assert verify_ballot_log(vote) == []


@pytest.mark.django_db
def test_a_closed_vote_with_a_pending_leaf_fails_verification(vote, compound, organiser):
    with _give_way():
        _cast(vote, compound.zhang, organiser)
    Vote.objects.filter(pk=vote.pk).update(status=Vote.Status.CLOSED)  # closed without sealing: not by the app
    vote.refresh_from_db()
    assert "not sealed" in " ".join(p.reason_en for p in verify_ballot_log(vote))


@pytest.mark.django_db
def test_a_rewritten_history_or_a_forged_head_is_found(vote, compound, organiser):
    for person in (compound.zhang, compound.li, compound.zhao):
        _cast(vote, person, organiser)
    assert verify_ballot_log(vote) == []
    # Swap two entries' numbers: every MAC still holds, the signed heads no longer do.
    a, b = BallotLogEntry.objects.filter(vote=vote).order_by("seq")[:2]
    BallotLogEntry.objects.filter(pk=a.pk).update(seq=99)
    BallotLogEntry.objects.filter(pk=b.pk).update(seq=1)
    BallotLogEntry.objects.filter(pk=a.pk).update(seq=2)
    reasons = " ".join(p.reason_en for p in verify_ballot_log(vote))
    assert "signed tree head does not match the log" in reasons
    BallotLogEntry.objects.filter(pk=a.pk).update(seq=99)
    BallotLogEntry.objects.filter(pk=b.pk).update(seq=2)
    BallotLogEntry.objects.filter(pk=a.pk).update(seq=1)
    assert verify_ballot_log(vote) == []
    # A head re-signed by anyone without the log's key.
    head = BallotTreeHead.objects.filter(vote=vote).order_by("-tree_size").first()
    BallotTreeHead.objects.filter(pk=head.pk).update(signature="00" * 64)
    assert "signature does not verify" in " ".join(p.reason_en for p in verify_ballot_log(vote))


@pytest.mark.django_db
def test_the_receipt_proof_downloads_and_checks_with_the_standalone_checker(
    vote, compound, organiser, client, tmp_path
):
    results = [_cast(vote, p, organiser) for p in (compound.zhang, compound.li, compound.zhao, compound.qian)]
    page = client.get(reverse("voting:receipt", args=[vote.pk]), {"code": results[1].receipt})
    assert page.status_code == 200
    assert "包含证明" in page.content.decode()
    response = client.get(reverse("voting:receipt_proof", args=[vote.pk]), {"code": results[1].receipt.lower()})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    proof = json.loads(response.content)
    assert proof["index"] == 1 and proof["tree_head"]["size"] == 4
    assert merkle.check_proof(proof) == []
    body = response.content.decode()
    assert "yes" not in body and compound.zhang.name not in body  # nothing personal, no choice
    path = tmp_path / "proof.json"
    path.write_text(body, encoding="utf-8")
    assert merkle.main([str(path)]) == 0
    proof["path"][0] = merkle.leaf_hash(b"forged")
    path.write_text(json.dumps(proof), encoding="utf-8")
    assert merkle.main([str(path)]) == 1
    # The same from the API, without signing in.
    api = client.get(f"/api/v1/receipts/{results[1].receipt}/proof/")
    assert api.status_code == 200 and merkle.check_proof(api.json()) == []


@pytest.mark.django_db
def test_a_bad_or_unknown_code_for_a_proof_is_a_4xx_naming_the_field(vote, client):
    bad = client.get(reverse("voting:receipt_proof", args=[vote.pk]), {"code": "not a code"})
    assert bad.status_code == 400 and bad.json()["field"] == "code"
    assert client.get(reverse("voting:receipt_proof", args=[vote.pk]), {"code": "ABCD-EFGH-JKMN"}).status_code == 404
    assert client.get("/api/v1/receipts/ABCD-EFGH-JKMN/proof/").status_code == 404


@pytest.mark.django_db
def test_the_public_log_shows_the_signed_head_and_the_key(vote, compound, organiser, client):
    _cast(vote, compound.zhang, organiser)
    page = client.get(reverse("voting:log", args=[vote.pk])).content.decode()
    vote.refresh_from_db()
    assert vote.log_head in page and receipts.public_key() in page
    assert BallotTreeHead.objects.get(vote=vote).signature in page


@pytest.mark.django_db
def test_a_hash_chain_written_before_the_merkle_log_becomes_its_first_leaves(vote, compound, organiser):
    """What migration 0002 does to a log written as a hash chain: same receipts, verified as before, then grows."""
    at = timezone.now()
    prev = receipts.GENESIS
    codes = []
    for seq, person in enumerate((compound.zhang, compound.li), start=1):
        entry = vote.roll.get(voter=person)
        salt = receipts.new_salt()
        Ballot.objects.create(
            vote=vote, roll_entry=entry, choice="no", channel="door", cast_at=at, actor=organiser, salt=salt
        )
        commit = receipts.commitment(vote.pk, entry.token, "no", salt)
        mac = receipts.entry_mac(vote.pk, seq, prev, entry.token, commit, at)
        BallotLogEntry.objects.create(
            vote=vote, seq=seq, roll_token=entry.token, commitment=commit, recorded_at=at, prev_mac=prev, mac=mac,
            receipt_code=receipts.receipt_code(mac),
        )  # fmt: skip
        codes.append(receipts.receipt_code(mac))
        prev = mac
    area = sum(vote.roll.filter(voter__in=(compound.zhang, compound.li)).values_list("area", flat=True), Decimal(0))
    Vote.objects.filter(pk=vote.pk).update(log_length=2, log_head=prev, ballot_count=2, participating_area=area)

    migration = importlib.import_module("gongzhi.voting.migrations.0002_merkle_log")
    migration.leaves_for_chains(apps, None)
    vote.refresh_from_db()
    assert vote.log_length == 2 and BallotTreeHead.objects.filter(vote=vote, tree_size=2).exists()
    assert verify_ballot_log(vote) == []
    assert all(check_receipt(c).seq for c in codes)  # the receipts voters hold still check

    third = _cast(vote, compound.zhao, organiser)
    assert third.entry.seq == 3 and third.entry.prev_mac == ""
    vote.refresh_from_db()
    assert vote.ballot_count == 3 and verify_ballot_log(vote) == []
    # The legacy chain is still checked link by link.
    BallotLogEntry.objects.filter(vote=vote, seq=2).update(prev_mac="f" * 64)
    assert "link to the previous entry is broken" in " ".join(p.reason_en for p in verify_ballot_log(vote))
