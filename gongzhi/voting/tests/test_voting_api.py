"""The voting API: figures, turnout, idempotent worker ballots with bilingual errors, receipts, the schema."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient

from gongzhi.voting import actions
from gongzhi.voting.models import Ballot
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


def api(user=None):
    c = APIClient()
    if user is not None:
        c.force_authenticate(user)
    return c


def token(vote, person):
    return vote.roll.get(voter=person).token


@pytest.mark.django_db
def test_list_and_figures(vote, compound, organiser, persona, mini, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        r = api(organiser).get("/api/v1/votes/")
    assert r.status_code == 200 and [v["id"] for v in r.data["results"]] == [vote.pk]
    far = persona("community_worker", node=mini.other_subdistrict, username="far")
    assert api(far).get("/api/v1/votes/").data["results"] == []
    owner = compound.account(compound.zhao)
    assert [v["id"] for v in api(owner).get("/api/v1/votes/").data["results"]] == [vote.pk]
    assert api().get("/api/v1/votes/").status_code == 401
    detail = api(owner).get(f"/api/v1/votes/{vote.pk}/").data
    assert detail["total_heads"] == 6 and detail["turnout"]["heads"]["fraction"] == "0/1" and detail["result"] is None


@pytest.mark.django_db
def test_worker_ballot_is_idempotent_and_refuses_a_second_one(vote, compound, organiser):
    c = api(organiser)
    url = f"/api/v1/votes/{vote.pk}/ballots/"
    body = {"roll_token": token(vote, compound.zhao), "choice": "yes", "channel": "phone"}
    missing = c.post(url, body, format="json")
    assert missing.status_code == 400 and missing.data["errors"][0]["field"] == "Idempotency-Key"
    first = c.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="a1")
    assert first.status_code == 201 and first.data["created"] is True and first.data["log_seq"] == 1
    retry = c.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="a1")
    assert (
        retry.status_code == 200 and retry.data["receipt"] == first.data["receipt"] and retry.data["created"] is False
    )
    second = c.post(url, {**body, "channel": "door"}, format="json", HTTP_IDEMPOTENCY_KEY="a2")
    assert second.status_code == 409
    err = second.data["errors"][0]
    assert err["code"] == "already_voted" and "该户已投票（渠道：电话/短信确认" in err["message"]
    assert "already voted" in err["message_en"]
    assert Ballot.objects.filter(vote=vote).count() == 1


@pytest.mark.django_db
def test_ballot_errors_name_the_field_in_both_languages(vote, compound, organiser, persona):
    c = api(organiser)
    url = f"/api/v1/votes/{vote.pk}/ballots/"
    bad = c.post(
        url,
        {"roll_token": token(vote, compound.zhao), "choice": "maybe", "channel": "door"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="b1",
    )
    assert bad.status_code == 400 and bad.data["errors"][0]["field"] == "choice"
    paper = c.post(
        url,
        {"roll_token": token(vote, compound.zhao), "choice": "yes", "channel": "paper"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="b2",
    )
    assert paper.status_code == 400 and paper.data["errors"][0]["field"] == "attachment"
    assert "扫描件" in paper.data["errors"][0]["message"] and "scan" in paper.data["errors"][0]["message_en"]
    nobody = c.post(
        url,
        {"roll_token": "ffffffffffff", "choice": "yes", "channel": "door"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="b3",
    )
    assert nobody.status_code == 404 and nobody.data["errors"][0]["field"] == "roll_token"
    pm = api(persona("property_manager")).post(
        url,
        {"roll_token": token(vote, compound.zhao), "choice": "yes", "channel": "door"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="b4",
    )
    assert pm.status_code == 403 and pm.data["message_en"]
    owner = api(compound.account(compound.zhao)).post(
        url,
        {"roll_token": token(vote, compound.zhao), "choice": "yes", "channel": "door"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="b5",
    )
    assert owner.status_code == 403
    for absent in ("999999", "abc", "9" * 25, "-1"):  # no such vote, or not a vote's id at all: 404, never a 500
        assert api(organiser).post(f"/api/v1/votes/{absent}/ballots/", {}, format="json").status_code == 404


@pytest.mark.django_db
def test_paper_ballot_with_scan_by_multipart_then_closed_vote_refuses(vote, compound, organiser):
    c = api(organiser)
    url = f"/api/v1/votes/{vote.pk}/ballots/"
    scan = SimpleUploadedFile("ballot.pdf", PDF, content_type="application/pdf")
    r = c.post(
        url,
        {"roll_token": token(vote, compound.li), "choice": "no", "channel": "paper", "attachment": scan},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="p1",
    )
    assert r.status_code == 201
    assert Ballot.objects.get(vote=vote).attachment.content_type == "application/pdf"
    actions.close_vote(vote, actor=organiser, now=after_close(vote))
    late = c.post(
        url,
        {"roll_token": token(vote, compound.zhao), "choice": "yes", "channel": "door"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="p2",
    )
    assert late.status_code == 409 and late.data["errors"][0]["code"] == "not_open"


@pytest.mark.django_db
def test_turnout_and_receipt_endpoints(vote, compound, organiser, django_assert_max_num_queries):
    zhang = compound.account(compound.zhang)
    result = actions.cast_ballot(
        vote,
        vote.roll.get(voter=compound.zhang),
        actor=zhang,
        choice="abstain",
        channel="online",
        identity_confirmed=True,
    )
    with django_assert_max_num_queries(6):
        t = api(organiser).get(f"/api/v1/votes/{vote.pk}/turnout/")
    assert t.status_code == 200 and t.data["heads"]["fraction"] == "1/6" and t.data["quorum"] == "≥ 2/3"
    assert t.data["buildings"][0]["building"] == "1号楼"
    public = api().get(f"/api/v1/receipts/{result.receipt}/")
    assert public.status_code == 200 and public.data["log_seq"] == 1 and public.data["choice"] is None
    assert api(zhang).get(f"/api/v1/receipts/{result.receipt.lower()}/").data["choice"] == "abstain"
    assert api().get("/api/v1/receipts/0000-0000-0000/").status_code == 404


@pytest.mark.django_db
def test_schema_documents_the_voting_errors(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    post = schema["paths"]["/api/v1/votes/{id}/ballots/"]["post"]
    assert {"400", "403", "404", "409"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])


@pytest.mark.django_db(transaction=True)
def test_a_ballot_through_the_api_keeps_its_query_budget(vote, compound, organiser, django_assert_max_num_queries):
    """The ballot path of a vote's last hour (bench/VOTING.md §6–8): the token and its user (one query: a lock
    revokes tokens, so none is asked per request), the vote, the gate's roles, the head, one query for "retry or
    voted already?", the insert, the vote row share-locked with the sealing lock tried, the audit entry, the leaf,
    and — nobody else sealing — the seal's read and its one write (numbers, signed head, counters): 14 statements
    on PostgreSQL, transaction control included (the ballot and the audit entry are inserted with ON CONFLICT DO
    NOTHING, not in savepoints: 19 before; 23 before issue 14's cuts). A ballot must not cost more as the roll
    grows."""
    from rest_framework.authtoken.models import Token

    key = Token.objects.create(user=organiser).key
    c = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    url = f"/api/v1/votes/{vote.pk}/ballots/"
    first = c.post(url, {"roll_token": token(vote, compound.qian), "choice": "no", "channel": "door"}, format="json")
    assert first.status_code == 400  # no Idempotency-Key: warms the caches a server keeps between requests
    body = {"roll_token": token(vote, compound.zhao), "choice": "yes", "channel": "door"}
    with django_assert_max_num_queries(14 if connection.vendor == "postgresql" else 21):  # SQLite: no CTEs
        r = c.post(
            url,
            body,
            format="json",
            HTTP_IDEMPOTENCY_KEY="budget-1",
        )
    assert r.status_code == 201 and r.data["log_seq"] == 1
    assert Ballot.objects.filter(vote=vote).count() == 1
