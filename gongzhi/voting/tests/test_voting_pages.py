"""Voting pages: the permission matrix (role × scope × phase), the resident and worker flows, query budgets,
the receipt check, and the data file rechecked by the offline recount command."""

import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from gongzhi.core.sms import LocmemBackend
from gongzhi.registry import actions as registry
from gongzhi.voting import actions
from gongzhi.voting.models import Ballot, Vote
from testkit.voting import PDF, after_close, build_owners_compound, open_vote_now
from testkit.world import PASSWORD, make_user


@pytest.fixture
def compound(mini):
    return build_owners_compound(mini)


@pytest.fixture
def organiser(persona):
    return persona("community_worker")


def vote_in(phase, compound, organiser):
    """before: roll published, voting not yet open; during: open; after: closed with a result."""
    if phase == "before":
        now = timezone.now()
        vote = actions.call_vote(
            actor=organiser,
            subject="选聘物业",
            matter="property_company",
            unit_set=compound.unit_set,
            opens_at=now + timedelta(days=20),
            closes_at=now + timedelta(days=27),
        )
        actions.publish_roll(vote, actor=organiser)
        return vote
    vote = open_vote_now(compound, organiser)
    for person in (compound.zhang, compound.li, compound.developer, compound.zhao, compound.qian):
        actions.cast_ballot(vote, vote.roll.get(voter=person), actor=organiser, choice="yes", channel="door")
    if phase == "after":
        actions.close_vote(vote, actor=organiser, now=after_close(vote))
    return vote


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


ROLES = ["anonymous", "owner", "other_resident", "worker", "supervisor", "worker_elsewhere", "property_manager"]


def client_as(role, client, compound, persona, mini):
    if role == "anonymous":
        return client
    if role == "owner":
        return login(client, compound.account(compound.zhao))
    if role == "other_resident":
        stranger = registry.create_person(actor=None, name="周游", phone="13700000000")
        registry.add_ownership(actor=None, unit=mini.other_units[0], person=stranger)
        return login(client, make_user("stranger", "resident", mini.other_courtyard, person=stranger))
    if role == "worker":
        return login(client, persona("hotline_operator"))
    if role == "supervisor":
        return login(client, persona("auditor"))
    if role == "worker_elsewhere":
        return login(client, persona("community_worker", node=mini.other_subdistrict, username="elsewhere"))
    return login(client, persona("property_manager"))


# role → phase → expected status (302 = sent to sign in)
MATRIX = {
    "detail": {
        "anonymous": (200, 200, 200),
        "owner": (200, 200, 200),
        "other_resident": (200, 200, 200),
        "worker": (200, 200, 200),
        "supervisor": (200, 200, 200),
        "worker_elsewhere": (200, 200, 200),
        "property_manager": (200, 200, 200),
    },
    "roll": {
        "anonymous": (302, 302, 302),
        "owner": (200, 200, 200),
        "other_resident": (403, 403, 403),
        "worker": (200, 200, 200),
        "supervisor": (200, 200, 200),
        "worker_elsewhere": (403, 403, 403),
        "property_manager": (403, 403, 403),
    },
    "data": {
        "anonymous": (302, 302, 302),
        "owner": (403, 403, 200),
        "other_resident": (403, 403, 403),
        "worker": (403, 403, 403),
        "supervisor": (403, 403, 200),
        "worker_elsewhere": (403, 403, 403),
        "property_manager": (403, 403, 403),
    },
    "enter": {
        "anonymous": (302, 302, 302),
        "owner": (403, 403, 403),
        "other_resident": (403, 403, 403),
        "worker": (200, 200, 200),
        "supervisor": (403, 403, 403),
        "worker_elsewhere": (403, 403, 403),
        "property_manager": (403, 403, 403),
    },
}


@pytest.mark.django_db
@pytest.mark.parametrize("page", sorted(MATRIX))
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("phase", ["before", "during", "after"])
def test_permission_matrix(page, role, phase, client, compound, organiser, persona, mini):
    vote = vote_in(phase, compound, organiser)
    c = client_as(role, client, compound, persona, mini)
    response = c.get(reverse(f"voting:{page}", args=[vote.pk]))
    expected = MATRIX[page][role][["before", "during", "after"].index(phase)]
    assert response.status_code == expected, (page, role, phase)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_who_voted_how_only_for_owners_and_supervising_staff_after_closing(
    role, client, compound, organiser, persona, mini
):
    vote = vote_in("after", compound, organiser)
    c = client_as(role, client, compound, persona, mini)
    body = c.get(reverse("voting:result", args=[vote.pk])).content.decode()
    assert "参与表决面积/总面积" in body and "9205/10627" in body  # the figures are public
    shows_ballots = "表决记录" in body
    assert shows_ballots == (role in ("owner", "supervisor"))
    if not shows_ballots:
        assert "赵**" not in body


@pytest.mark.django_db
def test_draft_vote_is_visible_to_staff_in_scope_only(client, compound, organiser, persona, mini):
    now = timezone.now()
    vote = actions.call_vote(
        actor=organiser,
        subject="选聘物业",
        matter="property_company",
        unit_set=compound.unit_set,
        opens_at=now + timedelta(days=20),
        closes_at=now + timedelta(days=27),
    )
    assert client.get(reverse("voting:detail", args=[vote.pk])).status_code == 302
    login(client, compound.account(compound.zhao))
    assert client.get(reverse("voting:roll", args=[vote.pk])).status_code == 403
    login(client, organiser)
    assert client.get(reverse("voting:roll", args=[vote.pk])).status_code == 200


@pytest.mark.django_db
def test_resident_votes_online_in_five_steps_and_gets_a_receipt(
    client, compound, organiser, django_capture_on_commit_callbacks
):
    vote = open_vote_now(compound, organiser)
    login(client, compound.account(compound.zhang))
    start = reverse("voting:resident-start", args=[vote.pk])
    page = client.get(start).content.decode()
    assert "138****0001" in page and "101" in page
    assert client.get(reverse("voting:resident-choice", args=[vote.pk])).status_code == 302  # identity first
    with django_capture_on_commit_callbacks(execute=True):
        client.post(start)
    code = LocmemBackend.outbox[-1]["text"].split("验证码是")[1][:6]
    wrong = client.post(
        reverse("voting:resident-code", args=[vote.pk]), {"code": "000000" if code != "000000" else "111111"}
    )
    assert "验证码不正确" in wrong.content.decode()
    assert client.post(reverse("voting:resident-code", args=[vote.pk]), {"code": code}).status_code == 302
    empty = client.post(reverse("voting:resident-choice", args=[vote.pk]), {})
    assert "请选择同意、不同意或弃权" in empty.content.decode() and "error-summary" in empty.content.decode()
    client.post(reverse("voting:resident-choice", args=[vote.pk]), {"choice": "no"})
    check = client.get(reverse("voting:resident-check", args=[vote.pk]))
    assert "不同意" in check.content.decode()
    token = check.context["token"]
    done = client.post(reverse("voting:resident-check", args=[vote.pk]), {"token": token}, follow=True)
    receipt = done.context["receipt"]
    assert "投票成功" in done.content.decode() and receipt in done.content.decode()
    again = client.post(reverse("voting:resident-check", args=[vote.pk]), {"token": token}, follow=True)
    assert again.context["receipt"] == receipt  # a double submit shows the first result
    ballot = Ballot.objects.get(vote=vote)
    assert (ballot.channel, ballot.choice, Ballot.objects.filter(vote=vote).count()) == ("online", "no", 1)
    # The voter sees the recorded choice on the receipt page; a stranger would not.
    mine = client.get(reverse("voting:receipt", args=[vote.pk]), {"code": receipt}).content.decode()
    assert "已按投出内容计入" in mine and "<strong>不同意</strong>" in mine
    client.logout()
    public = client.get(reverse("voting:receipt", args=[vote.pk]), {"code": receipt}).content.decode()
    assert "已按投出内容计入" in public and "不同意" not in public
    assert (
        "没有找到" in client.get(reverse("voting:receipt", args=[vote.pk]), {"code": "0000-0000-0000"}).content.decode()
    )


@pytest.mark.django_db
def test_resident_not_on_the_roll_is_told_so(client, compound, organiser):
    vote = open_vote_now(compound, organiser)
    login(client, compound.account(compound.wang))  # co-owner; 李桂兰 is the designated voter
    response = client.get(reverse("voting:resident-start", args=[vote.pk]))
    assert response.status_code == 403 and "不在本次表决名册中" in response.content.decode()


@pytest.mark.django_db
def test_worker_enters_a_proxy_ballot_with_the_signed_authorisation(client, compound, organiser):
    vote = open_vote_now(compound, organiser)
    login(client, organiser)
    found = client.get(reverse("voting:enter", args=[vote.pk]), {"q": "401"})
    rows = found.context["rows"]
    assert len(rows) == 1 and rows[0]["name_masked"] == "钱**"
    form_url = reverse("voting:enter-form", args=[vote.pk, rows[0]["token"]])
    missing = client.post(form_url, {"channel": "proxy", "choice": "yes"})
    body = missing.content.decode()
    assert "请填写代理人姓名" in body and "授权委托书" in body
    upload = SimpleUploadedFile("auth.pdf", PDF, content_type="application/pdf")
    r = client.post(form_url, {"channel": "proxy", "choice": "yes", "proxy_name": "钱小梅", "attachment": upload})
    assert r.status_code == 302
    check = client.get(r.url)
    assert "钱小梅" in check.content.decode() and "委托代理" in check.content.decode()
    done = client.post(r.url, {"token": check.context["pending"]["key"]}, follow=True)
    assert "选票已录入" in done.content.decode()
    ballot = Ballot.objects.get(vote=vote)
    assert ballot.channel == "proxy" and ballot.attachment.kind == "scan" and ballot.actor == organiser
    assert ballot.on_behalf_of == compound.qian
    again = client.get(form_url)
    assert "该户已投票（渠道：委托代理" in again.content.decode()


@pytest.mark.django_db
def test_organiser_calls_publishes_and_runs_a_vote_from_the_pages(client, compound, organiser):
    login(client, organiser)
    page = client.get(reverse("voting:call")).content.decode()
    assert "最早开始投票日" in page
    now = timezone.localtime()
    data = {
        "subject": "选聘物业服务企业",
        "kind": "owner",
        "matter": "property_company",
        "unit_set": compound.unit_set.pk,
        "opens_at": (now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=37)).strftime("%Y-%m-%dT%H:%M"),
        "notice_days": 15,
    }
    bad = client.post(reverse("voting:call"), {**data, "matter": ""})
    assert "第二百七十八条" in bad.content.decode()
    r = client.post(reverse("voting:call"), data)
    vote = Vote.objects.get()
    assert r.url == reverse("voting:detail", args=[vote.pk]) and vote.total_heads == 6
    client.post(reverse("voting:step", args=[vote.pk, "publish"]))
    vote.refresh_from_db()
    assert vote.status == Vote.Status.ROLL_PUBLISHED
    r = client.post(reverse("voting:step", args=[vote.pk, "open"]), follow=True)
    assert "尚未到开始投票时间" in r.content.decode()


def add_owners(mini, n, start=0):
    for i in range(start, start + n):
        unit = registry.create_unit(
            actor=None, node=mini.entrance, number=f"8{i:03d}", area_registered=Decimal("50.00")
        )
        owner = registry.create_person(actor=None, name=f"业主{i}", phone="13900000000")
        registry.add_ownership(actor=None, unit=unit, person=owner)


@pytest.mark.django_db
@pytest.mark.parametrize("extra", [0, 40])
def test_roll_turnout_and_result_pages_have_query_budgets(
    extra, client, compound, organiser, mini, django_assert_max_num_queries
):
    add_owners(mini, extra)
    vote = vote_in("after", compound, organiser)
    login(client, organiser)
    for name, budget in (("roll", 10), ("turnout", 10), ("result", 14), ("detail", 10), ("log", 9), ("data", 14)):
        with django_assert_max_num_queries(budget):
            assert client.get(reverse(f"voting:{name}", args=[vote.pk])).status_code == 200, name


@pytest.mark.django_db
def test_data_file_rechecked_offline_gives_the_platform_result(client, compound, organiser, tmp_path):
    vote = open_vote_now(compound, organiser)
    roll = {e.voter_id: e for e in vote.roll.all()}
    for person, choice in (
        (compound.zhang, "yes"),
        (compound.li, "no"),
        (compound.developer, "yes"),
        (compound.zhao, "yes"),
        (compound.sun, "abstain"),
    ):
        actions.cast_ballot(vote, roll[person.pk], actor=organiser, choice=choice, channel="door")
    actions.close_vote(vote, actor=organiser, now=after_close(vote))
    login(client, compound.account(compound.zhao))
    response = client.get(reverse("voting:data", args=[vote.pk]))
    assert response["Content-Disposition"].startswith("attachment")
    path = tmp_path / "vote.json"
    path.write_bytes(response.content)
    assert "张" not in response.content.decode()
    out = subprocess.run(
        [sys.executable, "-m", "gongzhi.voting.recount", str(path)], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == vote.result["recount"]
    assert json.loads(out.stdout)["passed"] is vote.passed is True


def test_the_recount_is_explained_on_its_own_page_not_on_the_result_page(client, compound, organiser):
    vote = vote_in("after", compound, organiser)
    owner = login(client, compound.account(compound.zhao))
    result = owner.get(reverse("voting:result", args=[vote.pk])).content.decode()
    assert "python -m" not in result  # no command on the result page
    assert reverse("voting:verify", args=[vote.pk]) in result
    page = owner.get(reverse("voting:verify", args=[vote.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert f"python -m gongzhi.voting.recount vote-{vote.pk}.json" in text
    assert reverse("voting:data", args=[vote.pk]) in text
    client.logout()
    assert client.get(reverse("voting:verify", args=[vote.pk])).status_code == 302  # to the sign-in page


def test_links_shown_only_to_who_may_open_them(client, compound, organiser, persona, mini):
    vote = vote_in("during", compound, organiser)
    crew = login(client, persona("crew", mini.district))
    detail = reverse("voting:detail", args=[vote.pk])
    page = crew.get(detail).content.decode()
    assert reverse("voting:roll", args=[vote.pk]) not in page  # 表决名册 would answer 403
    assert reverse("voting:resident-start", args=[vote.pk]) not in page  # 我要投票: not on the roll
    assert crew.get(reverse("voting:roll", args=[vote.pk])).status_code == 403
    client.logout()
    voter = login(client, compound.account(compound.sun))
    page = voter.get(detail).content.decode()
    assert reverse("voting:resident-start", args=[vote.pk]) in page


def test_turnout_names_each_building_with_its_compound_and_areas_to_the_hundredth(client, compound, organiser):
    vote = vote_in("during", compound, organiser)
    page = login(client, organiser).get(reverse("voting:turnout", args=[vote.pk])).content.decode()
    assert "00000000" not in page  # never a raw database sum
    building = vote.roll_units.select_related("building__parent").first().building
    assert f"{building.parent.name} {building.name}" in page


@pytest.mark.django_db(transaction=True)
def test_the_online_submit_and_the_pages_around_it_keep_their_query_budgets(
    client, compound, organiser, django_assert_max_num_queries
):
    """A vote's last hour is these pages (bench/VOTING.md §6). The submit: session, user, roles, the head with its
    vote and whether it voted (one query), then the ballot's transaction (the gate's roll check, "retry or voted
    already?", the insert, the vote row share-locked with the sealing lock tried, the audit entry, the leaf, and —
    nobody else sealing — the seal's read and its one write) and the session's save — 18 statements on
    PostgreSQL, transaction control included (no savepoints: the ballot and the audit entry are inserted with ON
    CONFLICT DO NOTHING; 22 with them, 25 before issue 14's cuts). The choice
    and check pages leave an unchanged session unsaved (at most one renewal a minute)."""
    vote = open_vote_now(compound, organiser)
    login(client, compound.account(compound.zhang))
    session = client.session
    session[f"vote-{vote.pk}"] = {"confirmed_at": timezone.now().isoformat()}  # what the vote's SMS code leaves
    session.save()
    choice, check = (reverse(f"voting:resident-{step}", args=[vote.pk]) for step in ("choice", "check"))
    client.get(choice)  # renews the session saved above (its first request)
    with django_assert_max_num_queries(4):
        assert client.get(choice).status_code == 200
    assert client.post(choice, {"choice": "yes"}).status_code == 302
    with django_assert_max_num_queries(7):  # the page's form key is stored in the session: a save
        token = client.get(check).context["token"]
    with django_assert_max_num_queries(18 if connection.vendor == "postgresql" else 25):  # SQLite: no CTEs
        done = client.post(check, {"token": token})
    assert done.status_code == 302 and done["Location"] == reverse("voting:resident-done", args=[vote.pk])
    with django_assert_max_num_queries(4):
        assert client.get(done["Location"]).status_code == 200
    assert Ballot.objects.get(vote=vote).channel == "online"
