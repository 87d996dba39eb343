"""Survey pages: staff build and run a survey from pages, workers enter responses, residents answer one question
per page after SMS; permissions through the gate; query budgets on lists."""

from __future__ import annotations

import io
import json

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from gongzhi.core.models import AuditEntry
from gongzhi.core.sms import LocmemBackend
from gongzhi.registry.models import Residence
from gongzhi.surveys import actions
from gongzhi.surveys.models import Response, Survey, SurveyHousehold
from gongzhi.surveys.tests.test_actions import PNG
from testkit import surveys as testing
from testkit.world import make_user


@pytest.fixture
def sc(mini):
    return testing.build(mini)


@pytest.fixture
def worker(mini):
    return make_user("cw", "community_worker", mini.community)


def test_staff_builds_a_survey_from_pages(client, sc, worker):
    client.force_login(worker)
    r = client.post(
        reverse("surveys:new"),
        {
            "title": "改造意见调查",
            "unit_set": sc.unit_set.pk,
            "opens_on": str(testing.day(-1)),
            "closes_on": str(testing.day(10)),
            "quota_percent": "30",
        },
    )
    survey = Survey.objects.get(title="改造意见调查")
    assert r.status_code == 302 and r["Location"] == reverse("surveys:questions", args=[survey.pk])
    # a rating for satisfaction, shown only to those who know of the project — no JSON anywhere
    r = client.post(
        reverse("surveys:question-add", args=[survey.pk]),
        {
            "type": "rating",
            "label": "您对改造满意吗？",
            "required": "on",
            "measures": "satisfaction",
            "maximum": "5",
            "na": "on",
            "when_question": "aware",
            "when_op": "is",
            "when_value": "知道",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    r = client.post(
        reverse("surveys:question-add", args=[survey.pk]),
        {"type": "multiple", "label": "最关心的内容", "choices": "屋面\n管网\n电梯", "max_selected": "2"},
    )
    assert r.status_code == 302
    qs = actions.current_version(survey).questions
    assert qs[1]["relevant"] == "${aware} = 'yes'"
    assert qs[2]["constraint"] == "count(.) <= 2" and [c["label"] for c in qs[2]["choices"]] == ["屋面", "管网", "电梯"]
    # a bad rule is refused naming the problem, nothing saved
    r = client.post(
        reverse("surveys:question-add", args=[survey.pk]),
        {"type": "text", "label": "意见", "relevant": "${nope} = 1"},
    )
    assert r.status_code == 200 and "nope" in r.content.decode()
    assert len(actions.current_version(survey).questions) == 3
    # move and preview
    client.post(reverse("surveys:questions", args=[survey.pk]), {"op": "up", "key": qs[2]["key"]})
    assert actions.current_version(survey).questions[1]["type"] == "multiple"
    assert client.get(reverse("surveys:preview", args=[survey.pk])).status_code == 200
    page = client.get(reverse("surveys:preview-step", args=[survey.pk, 2])).content.decode()
    assert "最关心的内容" in page
    # open, then the detail shows the three rates with definitions
    assert client.post(reverse("surveys:open", args=[survey.pk])).status_code == 302
    page = client.get(reverse("surveys:detail", args=[survey.pk])).content.decode()
    assert "知晓率" in page and "参与率" in page and "满意率" in page and "0 ÷ 10" in page


def test_liaison_cannot_build_or_see_staff_pages_beyond_scope(client, sc, mini):
    survey = testing.make_survey(sc)
    liaison = make_user("pl", "party_liaison", mini.community)
    client.force_login(liaison)
    assert client.get(reverse("surveys:new")).status_code == 403
    assert client.get(reverse("surveys:questions", args=[survey.pk])).status_code == 403
    assert client.get(reverse("surveys:enter", args=[survey.pk])).status_code == 200  # a collector
    outsider = make_user("ow", "community_worker", mini.other_courtyard)
    client.force_login(outsider)
    assert client.get(reverse("surveys:detail", args=[survey.pk])).status_code == 404
    assert client.get(reverse("surveys:rates", args=[survey.pk])).status_code == 404
    client.logout()
    assert client.get(reverse("surveys:rates", args=[survey.pk])).status_code == 404
    actions.publish_results(survey, actor=None, published=True, keys=["aware"])
    assert client.get(reverse("surveys:rates", args=[survey.pk])).status_code == 200
    assert client.get(reverse("surveys:figures", args=[survey.pk])).status_code == 200  # published: for everyone
    assert client.get(reverse("surveys:data", args=[survey.pk])).status_code == 302  # sign in first


def test_worker_enters_a_paper_response_with_its_scan(client, sc, worker):
    survey = testing.make_survey(sc)
    h = SurveyHousehold.objects.filter(survey=survey).order_by("label").first()
    client.force_login(worker)
    url = reverse("surveys:enter-form", args=[survey.pk, h.token])
    page = client.get(url).content.decode()
    assert "logic.js" in page and "survey-rules" in page
    # missing scan and a required question: the summary names both, nothing saved
    r = client.post(url, {"channel": "paper", "aware-answer": "yes"})
    body = r.content.decode()
    assert r.status_code == 200 and "error-summary" in body and "纸质问卷须上传扫描件" in body
    assert not Response.objects.exists()
    scan = io.BytesIO(PNG)
    scan.name = "scan.png"
    filler = Residence.objects.filter(unit_id=h.unit_id).first().person
    paper = {"channel": "paper", "aware-answer": "yes", "satisfied-answer": "4", "items-answer": ["roof"]}
    r = client.post(url, {**paper, "scan": scan, "caller": filler.pk, "paper_number": "hh-0001"})
    assert r.status_code == 302, r.content.decode()[:3000]
    resp = Response.objects.get()
    assert resp.channel == "paper" and resp.scan is not None and resp.review == "received"
    assert (resp.paper_number, resp.on_behalf_of, resp.entered_by) == ("HH-0001", filler, worker)
    entry = AuditEntry.objects.get(action="surveys.submit_response", target_id=str(resp.pk))
    assert entry.changes["paper_number"] == "HH-0001" and entry.on_behalf_of_id == filler.pk
    assert resp.answers == {"aware": "yes", "satisfied": 4, "items": ["roof"]}
    # review: a rejection without a comment is refused, then approved
    rurl = reverse("surveys:response", args=[survey.pk, resp.pk])
    assert "须写明原因" in client.post(rurl, {"decision": "rejected"}).content.decode()
    resp.refresh_from_db()
    assert resp.review == "received"
    assert client.post(rurl, {"decision": "approved"}).status_code == 302
    resp.refresh_from_db()
    assert resp.review == "approved"


def test_resident_answers_one_question_per_page_after_sms(client, sc, django_capture_on_commit_callbacks):
    survey = testing.make_survey(sc, anonymous=False)
    person = sc.people[7]
    resident = make_user("res", "resident", sc.mini.courtyard, person=person, phone=person.phone)
    client.force_login(resident)
    start = reverse("surveys:answer", args=[survey.pk])
    page = client.get(start).content.decode()
    assert "短信验证码" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(start)
    code = LocmemBackend.outbox[-1]["text"].split("验证码是")[1][:6]
    r = client.post(reverse("surveys:answer-code", args=[survey.pk]), {"code": code})
    assert r["Location"] == reverse("surveys:answer-step", args=[survey.pk, 1])
    step1 = reverse("surveys:answer-step", args=[survey.pk, 1])
    r = client.post(step1, {})
    assert r.status_code == 200 and "请回答这道题" in r.content.decode()
    r = client.post(step1, {"q-answer": "no"})
    # the satisfaction question is skipped for someone who does not know of the project
    assert r["Location"] == reverse("surveys:answer-step", args=[survey.pk, 3])
    r = client.post(r["Location"], {"q-answer": ["roof", "pipes", "lift"]})
    assert "最多选两项" in r.content.decode()
    r = client.post(reverse("surveys:answer-step", args=[survey.pk, 3]), {"q-answer": ["lift"]})
    for n in (4, 5, 6, 7):
        assert r["Location"] == reverse("surveys:answer-step", args=[survey.pk, n])
        r = client.post(r["Location"], {})
    assert r["Location"] == reverse("surveys:answer-check", args=[survey.pk])
    check = client.get(r["Location"]).content.decode()
    assert "加装电梯" in check and "您对改造效果满意吗" not in check
    r = client.post(reverse("surveys:answer-check", args=[survey.pk]), {"token": "abc"})
    assert r["Location"] == reverse("surveys:answer-done", args=[survey.pk])
    resp = Response.objects.get()
    assert resp.channel == "online" and resp.answers == {"aware": "no", "items": ["lift"]} and resp.aware is False
    assert "已经填写过" in client.get(start).content.decode()


def test_anonymous_survey_says_so_before_the_first_question(client, sc):
    survey = testing.make_survey(sc, anonymous=True)
    person = sc.people[2]
    resident = make_user("res", "resident", sc.mini.courtyard, person=person, phone=person.phone)
    client.force_login(resident)
    page = client.get(reverse("surveys:answer", args=[survey.pk])).content.decode()
    assert "这是匿名问卷" in page


def test_resident_outside_the_frame_is_refused(client, sc, mini):
    survey = testing.make_survey(sc)
    client.force_login(make_user("x", "resident", mini.courtyard))
    assert client.get(reverse("surveys:answer", args=[survey.pk])).status_code in (403, 404)


def test_export_has_one_column_per_question_and_01_multiselect(client, sc, worker):
    survey = testing.make_survey(sc)
    hs = list(SurveyHousehold.objects.filter(survey=survey).order_by("label"))
    actions.submit_response(
        survey, hs[0], actor=worker, answers={"aware": "yes", "satisfied": 5, "items": ["lift"]}, channel="door"
    )
    actions.submit_response(survey, hs[1], actor=worker, answers={"aware": "no", "note": "楼道灯坏了"}, channel="door")
    client.force_login(worker)
    r = client.get(reverse("surveys:export", args=[survey.pk]), {"download": "1"})
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content))["回复 responses"]
    rows = list(ws.values)
    head = rows[0]
    assert head.index("aware 您是否知道本院的改造项目？") < head.index("satisfied 您对改造效果满意吗？")
    assert [h for h in head if str(h).startswith("items_")] == [
        "items_roof 屋面防水",
        "items_pipes 管网改造",
        "items_lift 加装电梯",
    ]
    lift = head.index("items_lift 加装电梯")
    data = sorted(rows[1:], key=lambda r: r[head.index("aware 您是否知道本院的改造项目？")], reverse=True)
    assert data[0][lift] == 1 and data[0][head.index("items_roof 屋面防水")] == 0
    assert data[1][lift] is None  # not answered ≠ not selected
    # filtered by date: nothing after tomorrow
    r = client.get(reverse("surveys:export", args=[survey.pk]), {"download": "1", "since": str(testing.day(1))})
    assert len(list(load_workbook(io.BytesIO(r.content))["回复 responses"].values)) == 1


def test_published_results_never_show_free_text(client, sc, worker):
    survey = testing.make_survey(sc)
    h = SurveyHousehold.objects.filter(survey=survey).first()
    actions.submit_response(survey, h, actor=worker, answers={"aware": "no", "note": "秘密意见"}, channel="door")
    actions.publish_results(survey, actor=worker, published=True, keys=["aware"])
    page = client.get(reverse("surveys:rates", args=[survey.pk])).content.decode()
    assert "秘密意见" not in page and "知晓率" in page and "入住日期" not in page


def test_data_file_download_for_entitled_roles(client, sc, worker, mini):
    survey = testing.make_survey(sc)
    officer = make_user("au", "auditor", mini.district)
    client.force_login(officer)
    r = client.get(reverse("surveys:data", args=[survey.pk]))
    assert r.status_code == 200 and len(json.loads(r.content)["households"]) == 10
    client.force_login(make_user("pl", "party_liaison", mini.community))
    assert client.get(reverse("surveys:data", args=[survey.pk])).status_code == 403


def test_list_pages_have_query_budgets(client, sc, worker, django_assert_max_num_queries):
    for i in range(3):
        s = testing.make_survey(sc, title=f"s{i}")
        for h in SurveyHousehold.objects.filter(survey=s)[: 3 + i]:
            actions.submit_response(s, h, actor=worker, answers={"aware": "no"}, channel="door")
    client.force_login(worker)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("surveys:list")).status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get(reverse("surveys:progress", args=[s.pk])).status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get(reverse("surveys:rates", args=[s.pk])).status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(reverse("surveys:responses", args=[s.pk])).status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(reverse("surveys:enter", args=[s.pk])).status_code == 200
    with django_assert_max_num_queries(24):
        assert client.get(reverse("surveys:area", args=[sc.mini.courtyard.pk])).status_code == 200


def test_resident_is_told_when_the_survey_is_closed(client, sc, worker):
    survey = testing.make_survey(sc)
    actions.close_survey(survey, actor=worker)
    person = sc.people[3]
    client.force_login(make_user("res", "resident", sc.mini.courtyard, person=person, phone=person.phone))
    page = client.get(reverse("surveys:answer", args=[survey.pk])).content.decode()
    assert "现在不能填写" in page
    assert client.post(reverse("surveys:answer-check", args=[survey.pk])).status_code == 200  # the message again
