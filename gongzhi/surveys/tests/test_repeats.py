"""Repeat groups (重复组): a few questions asked once per member — checked on save, expanded the same way for the
server and the browser, answered one question per page, entered by workers, exported one column per member."""

from __future__ import annotations

import copy
import io
import json

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from gongzhi.core.sms import LocmemBackend
from gongzhi.surveys import actions, logic, questions
from gongzhi.surveys.actions import SurveyError
from gongzhi.surveys.models import Response, SurveyHousehold
from gongzhi.surveys.tests.test_actions import frame
from gongzhi.surveys.tests.test_logic import NODE, js_eval
from testkit import surveys as testing
from testkit.world import make_user

YES_NO = [{"code": "y", "label": "是", "label_en": "Yes"}, {"code": "n", "label": "否", "label_en": "No"}]
FAMILY = [
    {"key": "n", "type": "number", "label": "家里几口人？", "label_en": "How many live here?", "required": True,
     "min": 0, "max": 12},
    {"key": "members", "type": "repeat", "label": "家庭成员", "label_en": "Member", "count": "${n}", "max": 3},
    {"key": "age", "type": "number", "label": "年龄", "label_en": "Age", "group": "members", "required": True,
     "min": 0, "max": 120},
    {"key": "works", "type": "single", "label": "是否就业", "label_en": "In work?", "group": "members",
     "required": True, "relevant": "${age} >= 16", "choices": YES_NO},
    {"key": "where", "type": "text", "label": "在哪里工作", "label_en": "Where?", "group": "members",
     "relevant": "${works} = 'y'", "constraint": "${works} = 'y' and . != '${works}'"},
    {"key": "adults", "type": "calculate", "label": "被问到的成员数", "label_en": "Members asked",
     "calculation": "${members} * 1"},
    {"key": "note", "type": "text", "label": "备注", "label_en": "Note", "relevant": "${members} >= 2"},
]  # fmt: skip


@pytest.fixture
def sc(mini):
    return testing.build(mini)


@pytest.fixture
def worker(mini):
    return make_user("cw", "community_worker", mini.community)


def test_a_group_is_checked_on_save():
    ok = questions.validate_definition(FAMILY)
    assert ok[1]["count"] == "${n}" and ok[1]["max"] == 3 and ok[2]["group"] == "members"

    def bad(change: dict, i: int | None = None, remove: int | None = None) -> questions.DefinitionError:
        qs = copy.deepcopy(FAMILY)
        if i is not None:
            qs[i].update(change)
        if remove is not None:
            qs.pop(remove)
        with pytest.raises(questions.DefinitionError) as e:
            questions.validate_definition(qs)
        return e.value

    assert bad({"count": ""}, 1).field == "count"
    assert bad({"count": "${age}"}, 1).field == "count"  # the count reads only earlier answers outside the group
    assert bad({"max": 0}, 1).field == "max" and bad({"max": 21}, 1).field == "max"
    assert bad({"required": True}, 1).field == "type"
    assert bad({"group": "nope"}, 2).field == "group"  # no such group open here
    assert bad({"type": "matrix", "rows": YES_NO}, 3).field == "type"  # no matrix in a group
    assert bad({"publish": True}, 2).field == "publish"
    assert bad({"relevant": "${works} = 'y'"}, 2).field == "relevant"  # a later member's question: not yet
    assert "not an earlier" in bad({"relevant": "${age} > 1"}, 6).en  # outside: only the group's count
    assert bad({"key": "a__b"}, 0).field == "key"  # the expanded keys' separator
    qs = copy.deepcopy(FAMILY)
    qs.insert(3, {"key": "x", "type": "text", "label": "插在组中间"})  # the group's questions must be together
    with pytest.raises(questions.DefinitionError) as e:
        questions.validate_definition(qs)
    assert e.value.index == 4 and e.value.field == "group"
    assert questions.validate_definition(FAMILY[:2])[1]["count"]  # still being built: its questions come next
    with pytest.raises(questions.DefinitionError, match="at least one question"):
        questions.validate_definition([FAMILY[0], FAMILY[1], FAMILY[5]])
    long = copy.deepcopy(FAMILY)
    long[4]["relevant"] = " or ".join(["${works} = 'y'"] * 28)  # fits alone, too long once renamed per member
    assert len(long[4]["relevant"]) <= logic.MAX_LENGTH
    with pytest.raises(questions.DefinitionError, match="expanded") as e:
        questions.validate_definition(long)
    assert e.value.index == 4


def test_expansion_renames_only_the_groups_own_references():
    flat = questions.expand(questions.validate_definition(FAMILY))
    keys = [q["key"] for q in flat]
    assert keys[:5] == ["n", "members", "members__1__age", "members__1__works", "members__1__where"]
    assert keys[-2:] == ["adults", "note"] and len(keys) == 2 + 3 * 3 + 2
    by = {q["key"]: q for q in flat}
    assert by["members"]["type"] == "calculate"
    assert by["members__2__age"]["relevant"] == "${members} >= 2"
    assert by["members__2__works"]["relevant"] == "${members} >= 2 and (${members__2__age} >= 16)"
    # a string that looks like a reference is text, and stays text
    assert by["members__3__where"]["constraint"] == "${members__3__works} = 'y' and . != '${works}'"
    assert by["members__2__age"]["label"] == "家庭成员（第2个）：年龄"
    assert by["members__2__age"]["label_en"] == "Member (no. 2): Age"
    plain = questions.validate_definition(FAMILY[:1])
    assert questions.expand(plain) is plain


def test_answers_are_checked_per_member():
    flat = questions.expand(questions.validate_definition(FAMILY))
    kept = questions.check_answers(
        flat,
        {"n": 2, "members__1__age": 40, "members__1__works": "y", "members__1__where": "二七区", "members__2__age": 9},
    )
    assert kept["members"] == 2 and kept["adults"] == 2
    assert "members__2__works" not in kept  # a child is not asked about work
    with pytest.raises(questions.AnswerError) as e:  # the second member's age is missing
        questions.check_answers(flat, {"n": 2, "members__1__age": 40, "members__1__works": "n"})
    assert e.value.key == "members__2__age" and "第2个" in e.value.zh
    # more people than the group asks about: three are asked; a fourth member's answer is not a question
    kept = questions.check_answers(flat, {"n": 7, **{f"members__{i}__age": 5 for i in (1, 2, 3)}})
    assert kept["members"] == 3 and "members__3__age" in kept
    with pytest.raises(questions.AnswerError) as e:
        questions.check_answers(flat, {"n": 1, "members__4__age": 5})
    assert e.value.key == "members__4__age"
    # answers for members beyond the count are dropped, not kept
    kept = questions.check_answers(flat, {"n": 1, "members__1__age": 3, "members__2__age": 50})
    assert "members__2__age" not in kept and kept["members"] == 1
    # nobody at home: no member questions at all
    assert questions.check_answers(flat, {"n": 0}) == {"n": 0, "members": 0, "adults": 0}


WALKS = [
    {},
    {"n": 2, "members__1__age": 40, "members__1__works": "y", "members__2__age": 9, "note": "x"},
    {"n": "3", "members__1__age": 17, "members__1__works": "n", "members__3__age": 70},
    {"n": 99, "members__3__age": 30, "members__3__works": "y", "members__3__where": "郑州"},
]


def test_the_walk_over_a_group():
    flat = questions.expand(questions.validate_definition(FAMILY))
    w = logic.walk(flat, WALKS[1])
    assert w["shown"] == [
        "n", "members__1__age", "members__1__works", "members__1__where", "members__2__age", "note",
    ]  # fmt: skip
    assert w["values"] == {"members": 2, "adults": 2}


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_browser_walks_the_expanded_list_the_same_way():
    flat = questions.expand(questions.validate_definition(FAMILY))
    assert js_eval([{"walk": flat, "answers": a} for a in WALKS]) == [logic.walk(flat, a) for a in WALKS]


def test_a_staff_entry_keeps_each_members_answers(sc, worker):
    survey = testing.make_survey(sc, questions=FAMILY)
    h = frame(survey)[0]
    r = actions.submit_response(
        survey, h, actor=worker, channel="door", answers={"n": 1, "members__1__age": 30, "members__1__works": "n"}
    )
    assert r.answers == {"n": 1, "members": 1, "members__1__age": 30, "members__1__works": "n", "adults": 1}
    with pytest.raises(SurveyError) as e:
        actions.submit_response(survey, frame(survey)[1], actor=worker, channel="door", answers={"n": 1})
    assert e.value.field == "members__1__age"
    assert not Response.objects.filter(household=frame(survey)[1]).exists()


def test_a_resident_answers_each_member_one_question_per_page(client, sc, django_capture_on_commit_callbacks):
    survey = testing.make_survey(sc, questions=FAMILY)
    person = sc.people[7]
    resident = make_user("res", "resident", sc.mini.courtyard, person=person, phone=person.phone)
    client.force_login(resident)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("surveys:answer", args=[survey.pk]))
    code = LocmemBackend.outbox[-1]["text"].split("验证码是")[1][:6]
    client.post(reverse("surveys:answer-code", args=[survey.pk]), {"code": code})

    def step(n):
        return reverse("surveys:answer-step", args=[survey.pk, n])

    # positions in the expanded list: 1 n, 2 members (a value), 3–5 member 1, 6–8 member 2, 9–11 member 3
    assert client.post(step(1), {"q-answer": "2"})["Location"] == step(3)
    page = client.get(step(3)).content.decode()
    assert "家庭成员（第1个）：年龄" in page
    assert client.post(step(3), {"q-answer": "35"})["Location"] == step(4)
    assert client.post(step(4), {"q-answer": "y"})["Location"] == step(5)
    assert client.post(step(5), {"q-answer": "二七区政府"})["Location"] == step(6)
    assert client.post(step(6), {"q-answer": "8"})["Location"] == step(13)  # a child: no work questions; note
    assert client.get(step(9))["Location"] == step(13)  # no third member
    assert client.post(step(13), {"q-answer": ""})["Location"] == reverse("surveys:answer-check", args=[survey.pk])
    check = client.get(reverse("surveys:answer-check", args=[survey.pk])).content.decode()
    assert "家庭成员（第2个）：年龄" in check and "二七区政府" in check
    assert client.post(reverse("surveys:answer-check", args=[survey.pk]), {"token": "t"}).status_code == 302
    resp = Response.objects.get(survey=survey)
    assert resp.answers["members"] == 2 and resp.answers["members__2__age"] == 8
    assert resp.answers["members__1__where"] == "二七区政府" and "members__2__works" not in resp.answers


def test_the_worker_page_and_the_export_hold_every_member(client, sc, worker):
    survey = testing.make_survey(sc, questions=FAMILY)
    h = SurveyHousehold.objects.filter(survey=survey).order_by("label").first()
    client.force_login(worker)
    url = reverse("surveys:enter-form", args=[survey.pk, h.token])
    page = client.get(url).content.decode()
    rules = json.loads(page.split('id="survey-rules" type="application/json">')[1].split("</script>")[0])
    by_key = {r["key"]: r for r in rules}
    assert by_key["members__3__works"]["relevant"] == "${members} >= 3 and (${members__3__age} >= 16)"
    assert 'name="members__3__age-answer"' in page
    r = client.post(url, {"channel": "door", "n-answer": "2", "members__1__age-answer": "40"})
    assert r.status_code == 200 and "家庭成员（第1个）：是否就业" in r.content.decode()  # named, with the member
    assert not Response.objects.exists()
    post = {"channel": "door", "n-answer": "2", "members__1__age-answer": "40", "members__1__works-answer": "n"}
    r = client.post(url, {**post, "members__2__age-answer": "12"})
    assert r.status_code == 302, r.content.decode()[:2000]
    export = client.get(reverse("surveys:export", args=[survey.pk]), {"download": "1"})
    sheet = load_workbook(io.BytesIO(export.content)).worksheets[0]
    head = [c.value for c in next(sheet.iter_rows(max_row=1))]
    row = [c.value for c in list(sheet.iter_rows(min_row=2, max_row=2))[0]]
    cell = dict(zip(head, row, strict=True))
    assert cell["members 家庭成员"] == 2
    assert (
        cell["members__1__age 家庭成员（第1个）：年龄"] == 40 and cell["members__2__age 家庭成员（第2个）：年龄"] == 12
    )
    assert cell["members__3__age 家庭成员（第3个）：年龄"] is None


def test_staff_build_a_group_from_pages(client, sc, worker):
    survey = testing.make_survey(sc, questions=FAMILY[:1], open_it=False)
    client.force_login(worker)
    add = reverse("surveys:question-add", args=[survey.pk])
    r = client.post(add, {"type": "repeat", "label": "家庭成员", "repeat_max": "4"})
    assert r.status_code == 200 and "请选择重复次数取自哪道题" in r.content.decode()
    r = client.post(add, {"type": "repeat", "label": "家庭成员", "count_question": "n", "repeat_max": "4"})
    assert r.status_code == 302
    page = client.get(add).content.decode()
    assert "放在重复组“家庭成员”内" in page and 'name="in_group"' in page and "checked" in page
    r = client.post(add, {"type": "number", "label": "年龄", "required": "on", "in_group": "on"})
    assert r.status_code == 302
    r = client.post(add, {"type": "text", "label": "备注"})  # not ticked: after the group
    assert r.status_code == 302
    qs = survey.versions.order_by("-number").first().questions
    assert [(q["type"], q.get("group", "")) for q in qs] == [
        ("number", ""), ("repeat", ""), ("number", qs[1]["key"]), ("text", ""),
    ]  # fmt: skip
    assert qs[1]["count"] == "${n}" and qs[1]["max"] == 4
    listing = client.get(reverse("surveys:questions", args=[survey.pk])).content.decode()
    assert 'class="in-group"' in listing and "最多4次" in listing
    edit = client.get(reverse("surveys:question-edit", args=[survey.pk, qs[1]["key"]])).content.decode()
    assert 'value="4"' in edit and '<option value="n" selected>' in edit
    # moving the group's question out of its place is refused with the reason, nothing changed
    r = client.post(reverse("surveys:questions", args=[survey.pk]), {"op": "down", "key": qs[2]["key"]}, follow=True)
    assert "重复组下至少需要一道题" in r.content.decode()
    assert survey.versions.order_by("-number").first().questions == qs
