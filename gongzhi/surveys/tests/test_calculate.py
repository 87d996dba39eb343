"""Calculated values and choice filters: checked on save, computed and enforced by the server on every channel,
offered one question per page without JavaScript, and built from the page."""

from __future__ import annotations

import copy
import json

import pytest
from django.urls import reverse

from gongzhi.core.sms import LocmemBackend
from gongzhi.surveys import actions, questions
from gongzhi.surveys.actions import SurveyError
from gongzhi.surveys.models import Response, SurveyHousehold
from gongzhi.surveys.tests.test_actions import frame
from testkit import surveys as testing
from testkit.world import make_user

SCORED = [
    {
        "key": "aware",
        "type": "single",
        "label": "您是否知道本院的改造项目？",
        "label_en": "Do you know about the renovation?",
        "required": True,
        "measures": "awareness",
        "choices": [
            {"code": "yes", "label": "知道", "aware": True},
            {"code": "no", "label": "不知道", "aware": False},
        ],
    },
    {"key": "s1", "type": "rating", "label": "楼道环境", "label_en": "Stairwells", "required": True, "max": 5},
    {"key": "s2", "type": "rating", "label": "绿化", "label_en": "Greenery", "required": True, "max": 5},
    {
        "key": "score",
        "type": "calculate",
        "label": "环境总分",
        "label_en": "Environment score",
        "calculation": "coalesce(number(${s1}), 0) + coalesce(number(${s2}), 0)",
    },
    {"key": "why", "type": "text", "label": "哪里不满意？", "label_en": "What is wrong?", "relevant": "${score} < 6"},
    {
        "key": "building",
        "type": "single",
        "label": "您住哪栋楼？",
        "label_en": "Which building?",
        "required": True,
        "choices": [{"code": "b1", "label": "1号楼"}, {"code": "b2", "label": "2号楼"}],
    },
    {
        "key": "entrance",
        "type": "single",
        "label": "哪个单元？",
        "label_en": "Which entrance?",
        "required": True,
        "choice_filter": "@tag = ${building}",
        "choices": [
            {"code": "e11", "label": "1号楼1单元", "tag": "b1"},
            {"code": "e12", "label": "1号楼2单元", "tag": "b1"},
            {"code": "e21", "label": "2号楼1单元", "tag": "b2"},
        ],
    },
]


@pytest.fixture
def sc(mini):
    return testing.build(mini)


@pytest.fixture
def worker(mini):
    return make_user("cw", "community_worker", mini.community)


def test_definitions_of_calculations_and_filters_are_checked_on_save():
    ok = questions.validate_definition(SCORED)
    assert ok[3]["calculation"] and ok[6]["choice_filter"] == "@tag = ${building}" and ok[6]["choices"][0]["tag"]

    def bad(i, **change):
        qs = copy.deepcopy(SCORED)
        qs[i].update(change)
        with pytest.raises(questions.DefinitionError) as e:
            questions.validate_definition(qs)
        return e.value

    assert bad(3, calculation="").field == "calculation"
    assert "not an earlier" in bad(3, calculation="${why} + 1").en
    assert bad(3, required=True).field == "calculation"
    assert bad(3, calculation="@tag").field == "calculation"  # @ only in a choice filter
    assert bad(4, relevant="@code = 'x'").field == "relevant"
    assert bad(1, choice_filter="@tag = 'x'").field == "choice_filter"  # a rating has no options to filter
    assert "not an earlier" in bad(6, choice_filter="@tag = ${later}").en
    assert bad(6, choice_filter="@name = 'x'").field == "choice_filter"
    assert bad(2, calculation="1").field == "calculation"  # only a calculated question has one
    qs = copy.deepcopy(SCORED)
    qs[6]["choices"][0]["tag"] = "b 1"
    with pytest.raises(questions.DefinitionError, match="tags"):
        questions.validate_definition(qs)


def test_the_server_computes_the_value_and_enforces_the_filter():
    qs = questions.validate_definition(SCORED)
    kept = questions.check_answers(qs, {"aware": "yes", "s1": 2, "s2": "3", "building": "b1", "entrance": "e12"})
    assert kept["score"] == 5 and "why" not in kept  # asked when the score is under 6, and not answered: fine
    kept = questions.check_answers(
        qs, {"aware": "yes", "s1": 5, "s2": 4, "why": "x", "building": "b2", "entrance": "e21"}
    )
    assert kept["score"] == 9 and "why" not in kept  # hidden by the score: dropped
    with pytest.raises(questions.AnswerError) as e:  # an entrance of the other building
        questions.check_answers(qs, {"aware": "yes", "s1": 5, "s2": 4, "building": "b2", "entrance": "e11"})
    assert e.value.key == "entrance" and "earlier answers" in e.value.en
    with pytest.raises(questions.AnswerError) as e:  # a calculated value is never taken from the sender
        questions.check_answers(
            qs, {"aware": "yes", "s1": 5, "s2": 4, "score": 10, "building": "b1", "entrance": "e11"}
        )
    assert e.value.key == "score"
    # a filter that keeps nothing hides its question, even a required one
    three = copy.deepcopy(SCORED)
    three[5]["choices"].append({"code": "b3", "label": "3号楼"})
    qs = questions.validate_definition(three)
    kept = questions.check_answers(qs, {"aware": "no", "s1": 1, "s2": 1, "building": "b3"})
    assert kept["score"] == 2 and "entrance" not in kept
    assert [q["key"] for q in questions.visible(qs, {"building": "b3", "s1": 5, "s2": 5})] == [
        "aware",
        "s1",
        "s2",
        "building",
    ]


def test_a_staff_entry_keeps_the_calculated_value(sc, worker):
    survey = testing.make_survey(sc, questions=SCORED)
    h = frame(survey)[0]
    r = actions.submit_response(
        survey,
        h,
        actor=worker,
        answers={"aware": "yes", "s1": 3, "s2": 1, "building": "b1", "entrance": "e11"},
        channel="door",
    )
    assert r.answers["score"] == 4
    with pytest.raises(SurveyError) as e:
        actions.submit_response(
            survey,
            frame(survey)[1],
            actor=worker,
            answers={"aware": "yes", "s1": 3, "s2": 1, "building": "b1", "entrance": "e21"},
            channel="door",
        )
    assert e.value.field == "entrance"


def test_a_resident_is_offered_only_the_options_the_filter_keeps_without_javascript(
    client, sc, django_capture_on_commit_callbacks
):
    survey = testing.make_survey(sc, questions=SCORED)
    person = sc.people[7]
    resident = make_user("res", "resident", sc.mini.courtyard, person=person, phone=person.phone)
    client.force_login(resident)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("surveys:answer", args=[survey.pk]))
    code = LocmemBackend.outbox[-1]["text"].split("验证码是")[1][:6]
    client.post(reverse("surveys:answer-code", args=[survey.pk]), {"code": code})

    def step(n):
        return reverse("surveys:answer-step", args=[survey.pk, n])

    assert client.post(step(1), {"q-answer": "yes"})["Location"] == step(2)
    assert client.post(step(2), {"q-answer": "2"})["Location"] == step(3)
    # score = 2 + 2 < 6: the calculated value (question 4, never a page) brings up question 5
    assert client.post(step(3), {"q-answer": "2"})["Location"] == step(5)
    assert client.get(step(4))["Location"] == step(5)
    assert client.post(step(5), {"q-answer": "楼道太脏"})["Location"] == step(6)
    assert client.post(step(6), {"q-answer": "b2"})["Location"] == step(7)
    page = client.get(step(7)).content.decode()
    assert "2号楼1单元" in page and "1号楼1单元" not in page  # only building 2's entrance
    r = client.post(step(7), {"q-answer": "e11"})  # sent anyway: refused by the form
    assert r.status_code == 200 and "error-message" in r.content.decode()
    assert client.post(step(7), {"q-answer": "e21"})["Location"] == reverse("surveys:answer-check", args=[survey.pk])
    r = client.post(reverse("surveys:answer-check", args=[survey.pk]), {})
    assert r.status_code == 302
    resp = Response.objects.get(survey=survey)
    assert resp.answers["score"] == 4 and resp.answers["entrance"] == "e21" and resp.answers["why"] == "楼道太脏"


def test_the_worker_page_carries_the_rules_and_the_server_refuses_a_filtered_option(client, sc, worker):
    survey = testing.make_survey(sc, questions=SCORED)
    h = SurveyHousehold.objects.filter(survey=survey).order_by("label").first()
    client.force_login(worker)
    url = reverse("surveys:enter-form", args=[survey.pk, h.token])
    page = client.get(url).content.decode()
    rules = json.loads(page.split('id="survey-rules" type="application/json">')[1].split("</script>")[0])
    by_key = {r["key"]: r for r in rules}
    assert by_key["score"]["calculation"] and by_key["entrance"]["choice_filter"] == "@tag = ${building}"
    assert 'name="score-answer"' not in page and 'data-key="score"' in page  # shown as a value, not a field
    answers = {"aware-answer": "yes", "s1-answer": "5", "s2-answer": "5", "building-answer": "b1"}
    r = client.post(url, {**answers, "channel": "door", "entrance-answer": "e21"})
    assert r.status_code == 200 and "所选选项不适用于前面的回答" in r.content.decode()
    assert client.post(url, {**answers, "channel": "door", "entrance-answer": "e12"}).status_code == 302
    assert Response.objects.get(survey=survey).answers["score"] == 10


def test_officers_build_a_calculation_and_a_filter_from_the_page(client, sc, worker):
    survey = testing.make_survey(sc, open_it=False, questions=SCORED[:3])
    client.force_login(worker)
    add = reverse("surveys:question-add", args=[survey.pk])
    r = client.post(add, {"type": "calculate", "label": "总分"})
    assert r.status_code == 200 and "请填写计算公式" in r.content.decode()
    r = client.post(add, {"type": "calculate", "label": "总分", "calculation": "${s1} + ${s2}"})
    assert r.status_code == 302
    r = client.post(add, {"type": "single", "label": "哪栋楼", "choices": "1号楼\n2号楼"})
    assert r.status_code == 302
    r = client.post(
        add,
        {
            "type": "single",
            "label": "哪个单元",
            "choices": "1单元 | c1\n2单元 | c1\n3单元 | c2",
            "filter_question": "q5",
            "filter_mode": "tag",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    qs = actions.current_version(survey).questions
    assert qs[3]["type"] == "calculate" and qs[3]["calculation"] == "${s1} + ${s2}"
    assert qs[5]["choice_filter"] == "@tag = ${q5}"
    assert [c.get("tag") for c in qs[5]["choices"]] == ["c1", "c1", "c2"]
    edit = client.get(reverse("surveys:question-edit", args=[survey.pk, "q6"])).content.decode()
    assert "1单元 | c1" in edit  # the tags come back in the box
    client.cookies["django_language"] = "en"
    page = client.get(add).content.decode()
    assert "Calculation" in page and "Filter the options by" in page
