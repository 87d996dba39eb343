"""Who answers: one response per household (the default), per resident, or per enterprise or work unit — the
frame each gives, who may answer for a row, the figures' denominators, and the pages."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from gongzhi.core.sms import LocmemBackend
from gongzhi.organizations import actions as orgs
from gongzhi.organizations.models import Membership, OrgKind
from gongzhi.registry import actions as registry
from gongzhi.registry.models import Residence
from gongzhi.surveys import actions, selectors
from gongzhi.surveys.actions import SurveyError
from gongzhi.surveys.models import Response, Survey, SurveyHousehold
from testkit import surveys as testing
from testkit.world import make_user

VACANCIES = [
    {
        "key": "hiring",
        "type": "single",
        "label": "贵单位今年是否招聘高校毕业生？",
        "label_en": "Is your organisation hiring graduates this year?",
        "required": True,
        "choices": [{"code": "yes", "label": "是", "label_en": "Yes"}, {"code": "no", "label": "否", "label_en": "No"}],
    },
    {
        "key": "posts",
        "type": "number",
        "label": "计划招聘人数",
        "label_en": "Posts to fill",
        "relevant": "${hiring} = 'yes'",
        "required": True,
        "min": 1,
        "max": 500,
    },
]


@pytest.fixture
def sc(mini):
    return testing.build(mini)


@pytest.fixture
def worker(mini):
    return make_user("cw", "community_worker", mini.community)


def _born(years_ago: int) -> date:
    today = date.today()
    return today.replace(year=today.year - years_ago, day=1)


def test_a_per_resident_survey_asks_each_resident_of_age_once(sc, worker):
    # flat 0: a second resident aged 12 (too young) and a third of unknown age (asked: the registry cannot tell)
    child = registry.create_person(actor=None, name="小孩", birth_date=_born(12), home_path=sc.units[0].path)
    registry.add_residence(actor=None, unit=sc.units[0], person=child, relation="child")
    spouse = registry.create_person(actor=None, name="配偶", home_path=sc.units[0].path)
    registry.add_residence(actor=None, unit=sc.units[0], person=spouse, relation="spouse")
    survey = testing.make_survey(sc, respondents=Survey.Respondents.PERSON, min_age=16)
    frame = list(SurveyHousehold.objects.filter(survey=survey))
    people = {h.person_id for h in frame}
    residents = Residence.objects.filter(unit__in=sc.units, until__isnull=True).exclude(person=child)
    assert people == set(residents.values_list("person_id", flat=True)) and len(frame) == survey.households
    assert child.pk not in people and spouse.pk in people and sc.people[0].pk in people
    assert all(h.unit_id is not None and h.person_id is not None for h in frame)
    row = next(h for h in frame if h.person_id == spouse.pk)
    assert "配偶" not in row.label and row.label.endswith("配*")  # names masked in labels
    # two residents of one flat each answer once
    own = next(h for h in frame if h.person_id == sc.people[0].pk)
    actions.submit_response(
        survey,
        own,
        actor=worker,
        channel="hotline",
        on_behalf_of=sc.people[0],
        answers={"aware": "yes", "satisfied": 5},
    )
    actions.submit_response(survey, row, actor=worker, channel="hotline", on_behalf_of=spouse, answers={"aware": "no"})
    with pytest.raises(SurveyError) as e:  # the spouse cannot answer the husband's questionnaire
        actions.submit_response(
            survey,
            next(h for h in frame if h.person_id == sc.people[1].pk),
            actor=worker,
            channel="hotline",
            on_behalf_of=spouse,
            answers={"aware": "no"},
        )
    assert e.value.field == "on_behalf_of" and "本人" in e.value.zh
    with pytest.raises(SurveyError) as e:
        actions.submit_response(
            survey,
            own,
            actor=worker,
            channel="hotline",
            on_behalf_of=sc.people[0],
            answers={"aware": "yes", "satisfied": 5},
        )
    assert e.value.code == "duplicate" and "这位居民" in e.value.zh
    report = selectors.figures(survey)
    assert report.households == len(frame) and report.awareness.denominator == 2
    assert report.response.numerator == 2


def test_a_survey_of_enterprises_frames_the_areas_enterprises(
    client, sc, worker, mini, django_capture_on_commit_callbacks
):
    market = OrgKind.objects.filter(category=OrgKind.Category.MARKET).order_by("pk")
    firm = orgs.create_organization(actor=None, kind=market[0], node=mini.courtyard, name="郑州某物业公司")
    unit = orgs.create_organization(actor=None, kind=market[1], node=mini.courtyard, name="某施工单位")
    gone = orgs.create_organization(actor=None, kind=market[1], node=mini.courtyard, name="已撤销单位")
    orgs.dissolve_organization(gone, actor=None)
    other = registry.create_area_node(
        actor=None, parent=mini.subdistrict, level=mini.community.level, name="别的社区"
    )  # outside the survey's area
    orgs.create_organization(actor=None, kind=market[0], node=other, name="外区企业")
    hr = registry.create_person(actor=None, name="人事经理", phone="13900009999", home_path=mini.courtyard.path)
    orgs.add_member(firm, actor=None, person=hr, role=Membership.Role.CONTACT)
    survey = testing.make_survey(
        sc, title="企业招聘需求调查", questions=VACANCIES, respondents=Survey.Respondents.ORGANIZATION
    )
    frame = {h.organization_id: h for h in SurveyHousehold.objects.filter(survey=survey)}
    assert set(frame) == {firm.pk, unit.pk} and survey.households == 2
    assert frame[firm.pk].label == "郑州某物业公司" and frame[firm.pk].unit_id is None
    # a worker enters the building company's answer for its contact … who must belong to it
    with pytest.raises(SurveyError) as e:
        actions.submit_response(
            survey, frame[unit.pk], actor=worker, channel="hotline", on_behalf_of=hr, answers={"hiring": "no"}
        )
    assert e.value.field == "on_behalf_of" and "企业或单位" in e.value.zh
    assert not Response.objects.exists()
    # the property company's contact answers online, after SMS, from the survey list of their own
    user = make_user("hr", "resident", mini.courtyard, person=hr, phone=hr.phone)
    client.force_login(user)
    assert "企业招聘需求调查" in client.get(reverse("surveys:mine")).content.decode()
    start = reverse("surveys:answer", args=[survey.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(start)
    code = LocmemBackend.outbox[-1]["text"].split("验证码是")[1][:6]
    client.post(reverse("surveys:answer-code", args=[survey.pk]), {"code": code})
    step = reverse("surveys:answer-step", args=[survey.pk, 1])
    assert client.post(step, {"q-answer": "yes"})["Location"].endswith("/2/")
    client.post(reverse("surveys:answer-step", args=[survey.pk, 2]), {"q-answer": "6"})
    assert client.post(reverse("surveys:answer-check", args=[survey.pk]), {"token": "x"}).status_code == 302
    answer = Response.objects.get(household=frame[firm.pk])
    assert answer.answers == {"hiring": "yes", "posts": 6} and answer.channel == "online"
    assert "贵单位已经填写过" in client.get(start).content.decode()
    # the figures count organisations, and show no participation (records are by household)
    client.force_login(worker)
    page = client.get(reverse("surveys:rates", args=[survey.pk])).content.decode()
    assert "范围内共 2 家" in page and "参与率" not in page


def test_staff_choose_the_respondents_on_the_new_page_and_the_api_says_them(client, sc, worker):
    client.force_login(worker)
    new = {
        "title": "居民就业意向调查",
        "unit_set": sc.unit_set.pk,
        "opens_on": str(testing.day(-1)),
        "closes_on": str(testing.day(10)),
        "respondents": "person",
        "min_age": "16",
    }
    page = client.get(reverse("surveys:new")).content.decode()
    assert 'value="organization"' in page and "每家企业或单位一份" in page
    r = client.post(reverse("surveys:new"), {**new, "respondents": "everyone"})
    assert r.status_code == 200 and not Survey.objects.filter(title="居民就业意向调查").exists()
    r = client.post(reverse("surveys:new"), {**new, "min_age": "200"})
    assert r.status_code == 200 and not Survey.objects.filter(title="居民就业意向调查").exists()
    assert client.post(reverse("surveys:new"), new).status_code == 302
    survey = Survey.objects.get(title="居民就业意向调查")
    assert (survey.respondents, survey.min_age) == ("person", 16)
    detail = client.get(reverse("surveys:detail", args=[survey.pk])).content.decode()
    assert "每位居民一份" in detail and "16岁及以上" in detail
    body = client.get(f"/api/v1/surveys/{survey.pk}/").json()
    assert body["respondents"] == "person" and body["min_age"] == 16
    assert [q["key"] for q in body["questions"]] == ["aware"] and body["version"] == 1


def test_erasure_and_retention_unlink_a_resident_from_a_per_resident_frame(sc, worker):
    from datetime import timedelta

    from django.utils import timezone

    from gongzhi.core.privacy import Subject
    from gongzhi.surveys import privacy

    survey = testing.make_survey(sc, respondents=Survey.Respondents.PERSON)
    me = sc.people[0]
    row = SurveyHousehold.objects.get(survey=survey, person=me)
    actions.submit_response(
        survey, row, actor=worker, channel="hotline", on_behalf_of=me, answers={"aware": "yes", "satisfied": 4}
    )
    subject = Subject(person=me, account_ids=(), phones=())
    assert privacy.export_frames(subject) == [{"survey": survey.title, "asked_as": row.label, "answered": True}]
    assert privacy.erase_frames(subject) == 1
    row.refresh_from_db()
    assert row.person_id is None and row.taken and row.kind == "person" and "*" not in row.label
    assert privacy.export_frames(subject) == []
    # the figures still count the row and its answer
    assert selectors.figures(survey).response.numerator == 1
    # retention: another resident's link goes a year after the survey closed
    other = SurveyHousehold.objects.filter(survey=survey, person__isnull=False).first()
    actions.close_survey(survey, actor=None)
    assert privacy.expire_respondents(timezone.now() - timedelta(days=1), dry_run=True, batch=100) == 0
    later = timezone.now() + timedelta(days=1)
    assert privacy.expire_respondents(later, dry_run=True, batch=100) >= 1
    privacy.expire_respondents(later, dry_run=False, batch=100)
    other.refresh_from_db()
    assert other.person_id is None and not SurveyHousehold.objects.filter(survey=survey, person__isnull=False).exists()


def test_quotas_follow_the_respondents(sc, mini):
    people = testing.make_survey(sc, respondents=Survey.Respondents.PERSON)
    q = actions.add_quota(people, actor=None, kind="age_band", age_band="60", maximum=3)
    assert q.label.startswith("居民") and q.label_en.startswith("residents")
    firms = testing.make_survey(sc, title="企业问卷", questions=VACANCIES, respondents="organization", open_it=False)
    for kind, extra in (("age_band", {"age_band": "60"}), ("building", {"building": sc.building2})):
        with pytest.raises(SurveyError) as e:
            actions.add_quota(firms, actor=None, kind=kind, maximum=3, **extra)
        assert e.value.field == "kind" and "企业和单位" in e.value.zh
