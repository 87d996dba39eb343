"""Surveys at a real browser: a resident answers on a phone, one question per page in large type, after an SMS
code; a worker enters a paper response with its scan, the skip rule hiding a question in the page itself."""

from __future__ import annotations

import re

import pytest

from gongzhi.browser_tests.conftest import PHONE, sign_in
from gongzhi.core.models import User
from gongzhi.core.sms import LocmemBackend
from gongzhi.surveys.models import Response, SurveyHousehold
from gongzhi.surveys.tests.test_actions import PNG
from testkit import surveys as testing
from testkit.world import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def sms_code(phone: str) -> str:
    sent = [m for m in LocmemBackend.outbox if m["to"] == phone]
    assert sent, "no SMS sent"
    return re.search(r"验证码是\D*(\d{6})", sent[-1]["text"]).group(1)


def click(page, name: str) -> None:
    page.get_by_role("button", name=name).first.click()
    page.wait_for_load_state()


def test_a_resident_answers_on_a_phone(new_page, mini, shots):
    sc = testing.build(mini)
    survey = testing.make_survey(sc)
    person = sc.people[8]
    make_user("res", "resident", mini.courtyard, person=person, phone=person.phone)
    page = new_page(PHONE)
    # residents sign in by SMS; a password account keeps this test about the survey
    user = User.objects.get(username="res")
    user.set_password(PASSWORD)
    user.save()
    sign_in(page, "res", PASSWORD)
    page.goto(f"/surveys/{survey.pk}/answer/")
    click(page, "发送验证码")
    page.fill("#id_code", sms_code(person.phone))
    click(page, "确认")
    assert "第 1 题" in page.locator(".progress-text").inner_text()
    # large type and big targets on the question page
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.choices label')).fontSize)")
    height = page.evaluate("document.querySelector('.choices label').getBoundingClientRect().height")
    assert size >= 18 and height >= 44
    page.get_by_text("知道", exact=True).click()
    click(page, "继续")
    page.get_by_text("5 非常满意").click()
    click(page, "继续")
    page.get_by_text("加装电梯").click()
    click(page, "继续")
    for _ in range(4):  # age, date, grid, note: optional, skipped
        click(page, "继续")
    assert "核对您的回答" in page.locator("h1").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "survey-check-phone.png"), full_page=True)
    click(page, "提交问卷")
    assert "问卷已提交" in page.locator("h1").inner_text()
    r = Response.objects.get(survey=survey)
    assert (r.channel, r.aware, r.satisfaction, r.answers["items"]) == ("online", True, 5, ["lift"])


def test_a_worker_enters_a_paper_response_with_its_scan(new_page, mini, shots, tmp_path):
    sc = testing.build(mini)
    survey = testing.make_survey(sc)
    make_user("worker", "community_worker", mini.community)
    h = SurveyHousehold.objects.filter(survey=survey).order_by("label").first()
    page = new_page()
    sign_in(page, "worker", PASSWORD)
    page.goto(f"/surveys/{survey.pk}/enter/")
    page.get_by_role("link", name=h.label).click()
    page.wait_for_load_state()
    satisfied = page.locator(".entry-question[data-key=satisfied]")
    page.locator("input[name=aware-answer][value=no]").check()
    assert satisfied.is_hidden()  # the same rule as the server, run by logic.js in the page
    page.locator("input[name=aware-answer][value=yes]").check()
    assert satisfied.is_visible()
    page.locator("input[name=satisfied-answer][value='4']").check()
    page.locator("input[name=channel][value=paper]").check()
    click(page, "保存问卷")
    assert "纸质问卷须上传扫描件" in page.locator(".error-summary").inner_text()
    scan = tmp_path / "scan.png"
    scan.write_bytes(PNG)
    page.locator("input[name=aware-answer][value=yes]").check()
    page.locator("input[name=satisfied-answer][value='4']").check()
    page.locator("input[name=channel][value=paper]").check()
    page.locator("select[name=caller]").select_option(index=1)
    page.locator("input[name=paper_number]").fill("P-0001")
    page.set_input_files("input[name=scan]", str(scan))
    click(page, "保存问卷")
    page.screenshot(path=str(shots / "survey-worker-entry.png"), full_page=True)
    r = Response.objects.get(survey=survey)
    assert (r.channel, r.review, r.satisfaction) == ("paper", "received", 4) and r.scan is not None


def test_the_entry_page_filters_options_and_shows_the_calculated_value(new_page, mini):
    from gongzhi.surveys.tests.test_calculate import SCORED  # here: a test module's table, not collected twice

    sc = testing.build(mini)
    survey = testing.make_survey(sc, questions=SCORED)
    make_user("worker", "community_worker", mini.community)
    h = SurveyHousehold.objects.filter(survey=survey).order_by("label").first()
    page = new_page()
    sign_in(page, "worker", PASSWORD)
    page.goto(f"/surveys/{survey.pk}/enter/{h.token}/")
    why = page.locator(".entry-question[data-key=why]")
    entrance = page.locator(".entry-question[data-key=entrance]")
    score = page.locator("output[data-key=score]")
    assert entrance.is_hidden()  # no building chosen yet: the filter keeps no entrance
    page.locator("input[name=s1-answer][value='5']").check()
    page.locator("input[name=s2-answer][value='4']").check()
    assert score.inner_text() == "9" and why.is_hidden()  # the same calculation as the server's
    page.locator("input[name=s2-answer][value='1']").check()
    assert score.inner_text() == "6" and why.is_hidden()
    page.locator("input[name=s1-answer][value='2']").check()
    assert score.inner_text() == "3" and why.is_visible()
    page.locator("input[name=building-answer][value=b2]").check()
    assert entrance.is_visible()
    assert page.locator("input[name=entrance-answer][value=e21]").is_visible()
    assert page.locator("input[name=entrance-answer][value=e11]").is_hidden()
    page.locator("input[name=aware-answer][value=yes]").check()
    page.locator("input[name=entrance-answer][value=e21]").check()
    page.locator("input[name=channel][value=door]").check()
    click(page, "保存问卷")
    r = Response.objects.get(survey=survey)
    assert (r.answers["score"], r.answers["entrance"]) == (3, "e21")


def test_the_entry_page_shows_a_repeat_group_once_per_member(new_page, mini):
    from gongzhi.surveys.tests.test_repeats import FAMILY  # here: a test module's table, not collected twice

    sc = testing.build(mini)
    survey = testing.make_survey(sc, questions=FAMILY)
    make_user("worker", "community_worker", mini.community)
    h = SurveyHousehold.objects.filter(survey=survey).order_by("label").first()
    page = new_page(PHONE)
    sign_in(page, "worker", PASSWORD)
    page.goto(f"/surveys/{survey.pk}/enter/{h.token}/")

    def box(key):
        return page.locator(f".entry-question[data-key={key}]")

    assert box("members__1__age").is_hidden()  # nobody counted yet
    page.fill("input[name=n-answer]", "2")
    page.locator("input[name=n-answer]").dispatch_event("input")
    assert box("members__1__age").is_visible() and box("members__2__age").is_visible()
    assert box("members__3__age").is_hidden()
    assert box("members__1__works").is_hidden()  # asked from 16
    page.fill("input[name=members__1__age-answer]", "40")
    page.locator("input[name=members__1__age-answer]").dispatch_event("input")
    assert box("members__1__works").is_visible() and box("members__2__works").is_hidden()
    page.locator("input[name=members__1__works-answer][value=n]").check()
    page.fill("input[name=members__2__age-answer]", "7")
    page.locator("input[name=channel][value=door]").check()
    click(page, "保存问卷")
    r = Response.objects.get(survey=survey)
    assert r.answers == {
        "n": 2, "members": 2, "members__1__age": 40, "members__1__works": "n", "members__2__age": 7, "adults": 2,
    }  # fmt: skip
