"""Quotas: at most N responses from a building, an age band, or choosing an option — never over-filled, a
refused submit leaves nothing behind, a rejection gives the place back; the pages that set and show them."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from gongzhi.core.models import AuditEntry
from gongzhi.core.sms import LocmemBackend
from gongzhi.surveys import actions
from gongzhi.surveys.actions import SurveyError
from gongzhi.surveys.models import Quota, Response, SurveyHousehold
from gongzhi.surveys.tests.test_actions import answer, frame
from testkit import surveys as testing
from testkit.world import make_user


@pytest.fixture
def sc(mini):
    return testing.build(mini)


@pytest.fixture
def worker(mini):
    return make_user("cw", "community_worker", mini.community)


def building_one(survey) -> list[SurveyHousehold]:
    return [h for h in frame(survey) if h.building.name != "2号楼"]


def test_a_building_quota_takes_at_most_its_maximum_and_gives_back_on_rejection(sc, worker):
    survey = testing.make_survey(sc)
    b1 = building_one(survey)
    quota = actions.add_quota(survey, actor=worker, kind="building", building=b1[0].building, maximum=2)
    first = answer(survey, b1[0], worker)
    answer(survey, b1[1], worker)
    before = AuditEntry.objects.count()
    with pytest.raises(SurveyError) as e:
        answer(survey, b1[2], worker)
    assert e.value.code == "quota_full" and e.value.field == "household" and "最多2份" in e.value.zh
    assert AuditEntry.objects.count() == before and Response.objects.count() == 2
    assert not SurveyHousehold.objects.get(pk=b1[2].pk).taken  # the refused submit left nothing
    answer(survey, [h for h in frame(survey) if h.building.name == "2号楼"][0], worker)  # another building: free
    quota.refresh_from_db()
    assert (quota.filled, quota.full) == (2, True)
    actions.review_response(first, actor=worker, decision="rejected", comment="重复录入")
    quota.refresh_from_db()
    assert quota.filled == 1
    answer(survey, b1[2], worker)  # the place given back is taken
    with pytest.raises(SurveyError):  # below what it holds: refused
        actions.change_quota(quota, actor=worker, maximum=1)
    actions.change_quota(quota, actor=worker, maximum=3)
    answer(survey, b1[3], worker)
    quota.refresh_from_db()
    assert (quota.filled, quota.maximum) == (3, 3)
    actions.remove_quota(quota, actor=worker)
    answer(survey, b1[4], worker)  # no cap any more
    assert (
        AuditEntry.objects.filter(
            action__in=["surveys.add_quota", "surveys.change_quota", "surveys.remove_quota"]
        ).count()
        == 3
    )


def test_a_choice_quota_caps_one_option_and_names_the_question(sc, worker):
    survey = testing.make_survey(sc)
    hs = frame(survey)
    quota = actions.add_quota(survey, actor=worker, kind="choice", question_key="items", choice_code="lift", maximum=1)
    assert quota.label == "“您最关心哪些改造内容？”选“加装电梯”"
    answer(survey, hs[0], worker, answers={"aware": "yes", "satisfied": 4, "items": ["lift", "roof"]})
    with pytest.raises(SurveyError) as e:
        answer(survey, hs[1], worker, answers={"aware": "yes", "satisfied": 4, "items": ["lift"]})
    assert (e.value.field, e.value.code) == ("items", "quota_full") and "加装电梯" in e.value.zh
    assert "Lift" in e.value.en
    answer(survey, hs[1], worker, answers={"aware": "yes", "satisfied": 4, "items": ["roof"]})  # another option
    answer(survey, hs[2], worker, answers={"aware": "no"})  # not answered: not counted
    quota.refresh_from_db()
    assert quota.filled == 1


def test_an_age_band_quota(sc, worker):
    survey = testing.make_survey(sc)
    hs = frame(survey)
    unknown = [h for h in hs if h.age_band == ""]  # most test residents have no birth date: 不详
    assert len(unknown) >= 2
    quota = actions.add_quota(survey, actor=worker, kind="age_band", age_band="", maximum=1)
    assert quota.label == "户主不详" and quota.label_en == "household heads: Unknown"
    answer(survey, unknown[0], worker)
    with pytest.raises(SurveyError) as e:
        answer(survey, unknown[1], worker)
    assert e.value.code == "quota_full"
    other = [h for h in hs if h.age_band != ""]
    if other:  # another band is not capped
        answer(survey, other[0], worker)


def test_a_quota_added_later_counts_what_is_in_and_is_checked(sc, worker, mini):
    survey = testing.make_survey(sc)
    b1 = building_one(survey)
    answer(survey, b1[0], worker)
    answer(survey, b1[1], worker, answers={"aware": "yes", "satisfied": 4, "items": ["lift"]})
    with pytest.raises(SurveyError) as e:
        actions.add_quota(survey, actor=worker, kind="building", building=b1[0].building, maximum=1)
    assert e.value.field == "maximum"
    q = actions.add_quota(survey, actor=worker, kind="building", building=b1[0].building, maximum=3)
    assert q.filled == 2
    assert (
        actions.add_quota(
            survey, actor=worker, kind="choice", question_key="items", choice_code="lift", maximum=5
        ).filled
        == 1
    )
    with pytest.raises(SurveyError) as e:  # the same quota twice
        actions.add_quota(survey, actor=worker, kind="building", building=b1[0].building, maximum=4)
    assert e.value.field == "kind"
    with pytest.raises(SurveyError) as e:  # not a building of the survey
        actions.add_quota(survey, actor=worker, kind="building", building=mini.courtyard, maximum=4)
    assert e.value.field == "building"
    with pytest.raises(SurveyError) as e:  # free text cannot be capped
        actions.add_quota(survey, actor=worker, kind="choice", question_key="note", choice_code="x", maximum=4)
    assert e.value.field == "question"
    with pytest.raises(SurveyError) as e:
        actions.add_quota(survey, actor=worker, kind="building", building=b1[0].building, maximum=0)
    assert e.value.field == "maximum"
    resident = make_user("res", "resident", mini.courtyard)
    with pytest.raises(PermissionDenied):
        actions.add_quota(survey, actor=resident, kind="age_band", age_band="60", maximum=4)
    actions.close_survey(survey, actor=worker)
    with pytest.raises(PermissionDenied):  # closed: no more changes
        actions.add_quota(survey, actor=worker, kind="age_band", age_band="60", maximum=4)


def test_an_anonymous_survey_keeps_the_building_place_of_a_rejected_response(sc, worker):
    survey = testing.make_survey(sc, anonymous=True)
    b1 = building_one(survey)
    quota = actions.add_quota(survey, actor=worker, kind="building", building=b1[0].building, maximum=2)
    r = answer(survey, b1[0], worker)
    actions.review_response(r, actor=worker, decision="rejected", comment="无法辨认")
    quota.refresh_from_db()
    assert quota.filled == 1  # the household stays marked as answered, and so does its building's place


def test_quota_pages_for_officers_and_workers(client, sc, worker):
    survey = testing.make_survey(sc)
    b1 = building_one(survey)
    client.force_login(worker)
    url = reverse("surveys:quotas", args=[survey.pk])
    assert "添加配额" in client.get(url).content.decode()
    r = client.post(url, {"op": "add", "kind": "building", "maximum": "1"})
    assert r.status_code == 400 and "请选择楼栋" in r.content.decode()
    r = client.post(url, {"op": "add", "kind": "building", "building": b1[0].building_id, "maximum": "1"})
    assert r.status_code == 302
    r = client.post(url, {"op": "add", "kind": "choice", "choice": "items:lift", "maximum": "2"})
    assert r.status_code == 302
    r = client.post(url, {"op": "add", "kind": "age_band", "age_band": "none", "maximum": "9"})
    assert r.status_code == 302 and Quota.objects.filter(survey=survey).count() == 3
    building_quota = Quota.objects.get(survey=survey, kind="building")
    answer(survey, b1[0], worker)
    body = client.get(reverse("surveys:progress", args=[survey.pk])).content.decode()
    assert "1/1" in body and "已满" in body
    body = client.get(reverse("surveys:enter", args=[survey.pk])).content.decode()
    assert "名额已满" in body and reverse("surveys:enter-form", args=[survey.pk, b1[1].token]) not in body
    r = client.post(url, {"op": "change", "quota": building_quota.pk, "maximum": "0"})
    building_quota.refresh_from_db()
    assert r.status_code == 302 and building_quota.maximum == 1
    client.post(url, {"op": "change", "quota": building_quota.pk, "maximum": "4"})
    building_quota.refresh_from_db()
    assert building_quota.maximum == 4
    client.post(url, {"op": "remove", "quota": building_quota.pk})
    assert not Quota.objects.filter(pk=building_quota.pk).exists()
    client.cookies["django_language"] = "en"
    body = client.get(url).content.decode()
    assert "Add a quota" in body and "Which works matter most to you?: Lift" in body


def test_a_resident_is_told_when_an_option_or_the_building_is_full(
    client, sc, worker, django_capture_on_commit_callbacks
):
    survey = testing.make_survey(sc)
    person = sc.people[7]
    h = SurveyHousehold.objects.get(survey=survey, unit=sc.units[7])
    hs = [x for x in frame(survey) if x.pk != h.pk]
    actions.add_quota(survey, actor=worker, kind="choice", question_key="items", choice_code="lift", maximum=1)
    answer(survey, hs[0], worker, answers={"aware": "yes", "satisfied": 4, "items": ["lift"]})
    resident = make_user("res", "resident", sc.mini.courtyard, person=person, phone=person.phone)
    client.force_login(resident)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("surveys:answer", args=[survey.pk]))
    code = LocmemBackend.outbox[-1]["text"].split("验证码是")[1][:6]
    assert client.post(reverse("surveys:answer-code", args=[survey.pk]), {"code": code}).status_code == 302
    client.post(reverse("surveys:answer-step", args=[survey.pk, 1]), {"q-answer": "yes"})
    client.post(reverse("surveys:answer-step", args=[survey.pk, 2]), {"q-answer": "4"})
    r = client.post(reverse("surveys:answer-step", args=[survey.pk, 3]), {"q-answer": ["lift"]})
    assert r.status_code == 200 and "的名额已满，请另选" in r.content.decode()
    r = client.post(reverse("surveys:answer-step", args=[survey.pk, 3]), {"q-answer": ["roof"]})
    assert r.status_code == 302
    # the building fills up before the resident sends: the start page says so
    in_building = SurveyHousehold.objects.filter(survey=survey, building=h.building).exclude(pk=h.pk)
    taken = in_building.filter(taken=True).count()
    actions.add_quota(survey, actor=worker, kind="building", building=h.building, maximum=taken + 1)
    answer(survey, in_building.filter(taken=False).first(), worker)
    body = client.get(reverse("surveys:answer", args=[survey.pk])).content.decode()
    assert "名额已满" in body
