"""Voting at a real browser: a resident votes online with an SMS code and checks the receipt; a community worker
enters a paper ballot with its scan; after closing, the result page names the deciding rule."""

from __future__ import annotations

import re

import pytest

from gongzhi.browser_tests.conftest import PHONE, sign_in
from gongzhi.core.sms import LocmemBackend
from gongzhi.voting import actions
from gongzhi.voting.models import Ballot
from testkit.voting import PDF, after_close, build_owners_compound, open_vote_now
from testkit.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def compound(mini):
    return build_owners_compound(mini)


@pytest.fixture
def organiser(persona):
    return persona("community_worker", username="worker")


def sms_code(phone: str) -> str:
    sent = [m for m in LocmemBackend.outbox if m["to"] == phone]
    assert sent, "no SMS sent to the voter"
    return re.search(r"验证码是\D*(\d{6})", sent[-1]["text"]).group(1)


def submit(page, form: str = "main form") -> None:
    page.locator(form).locator("button[type=submit]").first.click()
    page.wait_for_load_state()


def test_a_resident_votes_online_and_checks_the_receipt(new_page, compound, organiser, shots):
    vote = open_vote_now(compound, organiser)
    compound.account(compound.zhao, username="zhao")
    page = new_page(PHONE)
    sign_in(page, "zhao", PASSWORD)

    page.goto(f"/voting/{vote.pk}/vote/")
    body = page.locator("main").inner_text()
    assert "302" in body and "138****0004" in body
    page.get_by_role("button", name="发送验证码").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/voting/{vote.pk}/vote/code/")
    page.fill("#id_code", sms_code(compound.zhao.phone))
    page.get_by_role("button", name="继续").click()
    page.wait_for_load_state()

    assert page.url.endswith(f"/voting/{vote.pk}/vote/choice/")
    page.check("input[name=choice][value=yes]")
    page.get_by_role("button", name="继续").click()
    page.wait_for_load_state()

    assert "请核对您的选票" in page.locator("h1").inner_text()
    assert page.locator("td strong").inner_text().strip() == "同意"
    page.get_by_role("button", name="确认投票").click()
    page.wait_for_load_state()

    assert "投票成功" in page.locator("h1").inner_text()
    receipt = page.locator(".receipt-code").inner_text().strip()
    assert receipt
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "vote-receipt-phone.png"), full_page=True)
    ballot = Ballot.objects.get(vote=vote)
    assert (ballot.channel, ballot.choice, ballot.on_behalf_of) == ("online", "yes", compound.zhao)

    page.goto(f"/voting/{vote.pk}/receipt/")
    page.fill("#id_code", receipt)
    page.get_by_role("button", name="查验").click()
    page.wait_for_load_state()
    status = page.locator("[role=status]").inner_text()
    assert "已按投出内容计入" in status

    stranger = new_page(PHONE)  # anyone may check a receipt, but sees no choice
    stranger.goto(f"/voting/{vote.pk}/receipt/")
    stranger.fill("#id_code", receipt)
    stranger.get_by_role("button", name="查验").click()
    stranger.wait_for_load_state()
    assert "已按投出内容计入" in stranger.locator("[role=status]").inner_text()
    assert "同意" not in stranger.locator("[role=status]").inner_text()


def test_a_community_worker_enters_a_paper_ballot_with_its_scan(new_page, compound, organiser, shots):
    vote = open_vote_now(compound, organiser)
    page = new_page()
    sign_in(page, "worker", PASSWORD)

    page.goto(f"/voting/{vote.pk}/enter/")
    page.fill("#q", "401")
    page.get_by_role("button", name="查找").click()
    page.wait_for_load_state()
    rows = page.locator("main table tbody tr")
    assert rows.count() == 1 and "钱**" in rows.first.inner_text()
    rows.first.locator("a").click()
    page.wait_for_load_state()

    assert "代录选票" in page.locator("h1").inner_text()
    page.check("input[name=channel][value=paper]")
    page.check("input[name=choice][value=yes]")
    page.set_input_files(
        "input[name=attachment]", files=[{"name": "ballot-401.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="继续").click()
    page.wait_for_load_state()

    assert "核对代录选票" in page.locator("h1").inner_text()
    table = page.locator("main table").inner_text()
    assert "纸质票" in table and "同意" in table and "已上传" in table
    page.screenshot(path=str(shots / "vote-enter-check-desktop.png"), full_page=True)
    page.get_by_role("button", name="确认录入").click()
    page.wait_for_load_state()

    assert "选票已录入" in page.locator("h1").inner_text()
    assert page.locator(".receipt-code").inner_text().strip()
    ballot = Ballot.objects.get(vote=vote)
    assert (ballot.channel, ballot.choice) == ("paper", "yes")
    assert ballot.on_behalf_of == compound.qian and ballot.actor == organiser
    assert ballot.attachment is not None


def test_the_result_page_shows_the_deciding_rule(new_page, compound, organiser, shots):
    vote = open_vote_now(compound, organiser)
    for person in (compound.zhang, compound.li, compound.developer, compound.zhao, compound.qian):
        actions.cast_ballot(vote, vote.roll.get(voter=person), actor=organiser, choice="yes", channel="door")
    actions.close_vote(vote, actor=organiser, now=after_close(vote))

    page = new_page()
    page.goto(f"/voting/{vote.pk}/result/")
    assert "表决结果" in page.locator("h1").inner_text()
    body = page.locator("main").inner_text()
    assert "适用规则" in body
    assert "《民法典》第二百七十八条" in body and "过半数" in body
    assert "参与表决面积/总面积" in body and "9205/10627" in body
    assert "通过" in page.locator("p.lead").inner_text()
    assert "表决记录" not in body  # who voted how is not shown to the public
    page.screenshot(path=str(shots / "vote-result-desktop.png"), full_page=True)
