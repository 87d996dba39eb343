"""以问卷征求需求: in a matter's 一征, a process officer starts a needs survey of the matter's households; the
matter page and its record show the matter's surveys with their counts and the matter's 参与率, read from the
surveys part (which deliberation does not import: the reader is registered from SurveysConfig.ready())."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from gongzhi.core.models import AuditEntry
from gongzhi.deliberation import actions, links, selectors
from gongzhi.deliberation import demo as deliberation_demo
from gongzhi.deliberation.models import Matter
from gongzhi.registry import actions as registry
from gongzhi.registry.models import UnitSet
from gongzhi.site import demo as core_demo
from gongzhi.surveys import actions as survey_actions
from gongzhi.surveys import demo as surveys_demo
from gongzhi.surveys import selectors as survey_selectors
from gongzhi.surveys.actions import SurveyError
from gongzhi.surveys.models import Survey, SurveyHousehold
from testkit.surveys import QUESTIONS
from testkit.untranslated import untranslated

pytestmark = pytest.mark.django_db


def start_url(matter) -> str:
    return reverse("deliberation:needs_survey", args=[matter.pk])


def new_survey_url(matter) -> str:
    return f"{reverse('surveys:new')}?{urlencode({'project': f'deliberation.matter:{matter.pk}'})}"


def form_data(matter, **over) -> dict:
    today = timezone.localdate()
    data = {
        "title": f"{matter.title}需求征集",
        "intro": "",
        "unit_set": matter.unit_set_id,
        "opens_on": today.isoformat(),
        "closes_on": (today + timedelta(days=30)).isoformat(),
        "project_ref": f"deliberation.matter:{matter.pk}",
    }
    data.update(over)
    return data


def open_survey(scene, *, answered: int = 1) -> Survey:
    """The matter's needs survey, opened, with `answered` households answered door to door."""
    m = scene.matter
    survey = survey_actions.create_survey(
        actor=scene.officer,
        title=f"{m.title}需求征集",
        unit_set=m.unit_set,
        opens_on=timezone.localdate(),
        closes_on=timezone.localdate() + timedelta(days=30),
        questions=QUESTIONS,
        project_ref=f"deliberation.matter:{m.pk}",
    )
    survey = survey_actions.open_survey(survey, actor=scene.officer)
    for h in SurveyHousehold.objects.filter(survey=survey).order_by("id")[:answered]:
        survey_actions.submit_response(survey, h, actor=scene.officer, answers={"aware": "no"}, channel="door")
    return survey


# --- who may start one ----------------------------------------------------------------------------------------


def test_who_may_start_a_needs_survey(client, scene, persona, mini):
    url = start_url(scene.matter)
    expected = {
        scene.officer: 302,  # a process officer in scope
        persona("subdistrict_staff", mini.subdistrict): 302,
        scene.operator: 403,  # acts for residents, does not run the process
        persona("party_liaison", mini.community): 403,
        scene.resident: 403,  # sees the matter (lives in it), may not start a survey
        persona("community_worker", mini.other_subdistrict, "elsewhere"): 404,  # out of sight
        scene.outsider: 404,
    }
    for user, code in expected.items():
        client.force_login(user)
        assert client.get(url).status_code == code, user.username
        page = client.get(reverse("deliberation:matter", args=[scene.matter.pk])).content.decode()
        assert (url in page) == (code == 302), user.username
    client.logout()
    assert client.get(url).status_code == 302 and "login" in client.get(url)["Location"]
    assert not Survey.objects.exists()


def test_only_during_the_solicit_stage(client, scene):
    client.force_login(scene.officer)
    actions.advance_matter(scene.matter, actor=scene.officer, today=date(2026, 9, 1))
    assert client.get(start_url(scene.matter)).status_code == 403
    page = client.get(reverse("deliberation:matter", args=[scene.matter.pk])).content.decode()
    assert start_url(scene.matter) not in page
    # The surveys' new page no longer fills in a needs survey for it (the reference alone, as for any project).
    form = client.get(new_survey_url(scene.matter)).context["form"]
    assert form.initial["project_ref"] == f"deliberation.matter:{scene.matter.pk}"
    assert "title" not in form.initial


def test_only_while_the_matter_is_open(client, scene):
    actions.withdraw_matter(scene.matter, actor=scene.officer, reason="居民意见分歧较大，暂缓")
    client.force_login(scene.officer)
    assert client.get(start_url(scene.matter)).status_code == 403


# --- starting one ---------------------------------------------------------------------------------------------


def test_starting_a_needs_survey_from_the_matter(client, scene):
    m = scene.matter
    client.force_login(scene.officer)
    response = client.get(start_url(m))
    assert response.status_code == 302 and response["Location"] == new_survey_url(m)
    form = client.get(response["Location"]).context["form"]
    assert form.initial["title"] == "油漆厂家属院加装电梯需求征集"
    assert form.initial["unit_set"] == m.unit_set_id
    assert form.initial["project_ref"] == f"deliberation.matter:{m.pk}"

    response = client.post(reverse("surveys:new"), form_data(m))
    survey = Survey.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("surveys:questions", args=[survey.pk])
    assert survey.status == Survey.Status.DRAFT
    assert survey.project_ref == f"deliberation.matter:{m.pk}"
    assert survey.unit_set_id == m.unit_set_id  # the frame: the matter's households
    assert survey.created_by == scene.officer
    entry = AuditEntry.objects.get(action="surveys.create_survey", target_id=str(survey.pk))
    assert entry.actor == scene.officer and entry.changes["project_ref"] == f"deliberation.matter:{m.pk}"
    # Opened, its frame is every household of the matter (each of its units with someone living there).
    survey_actions.open_survey(survey, actor=scene.officer)
    framed = set(SurveyHousehold.objects.filter(survey=survey).values_list("unit_id", flat=True))
    households = set(selectors.matter_units(m).filter(resident_count__gt=0).values_list("pk", flat=True))
    assert framed == households and len(framed) >= 2


@pytest.mark.parametrize(
    "ref",
    [
        "deliberation.matter:999999",
        "deliberation.matter:abc",
        "deliberation.matter:",
        "deliberation.matter:²",
        "deliberation.matter:99999999999999999999999",
        "deliberation.matter:-1",
    ],
)
def test_a_project_that_is_no_matter_is_refused_naming_the_field(client, scene, ref):
    client.force_login(scene.officer)
    before = AuditEntry.objects.count()
    response = client.post(reverse("surveys:new"), form_data(scene.matter, project_ref=ref))
    assert response.status_code == 200  # the form again, with its message
    errors = response.context["form"].errors
    assert list(errors) == ["project_ref"] and "议题" in errors["project_ref"][0]
    assert not Survey.objects.exists() and AuditEntry.objects.count() == before


def test_the_new_page_fills_in_nothing_for_a_matter_it_may_not_survey(client, scene, persona, mini):
    client.force_login(persona("community_worker", mini.other_subdistrict, "elsewhere"))
    for ref in (f"deliberation.matter:{scene.matter.pk}", "deliberation.matter:²", "deliberation.matter:" + "9" * 30):
        response = client.get(f"{reverse('surveys:new')}?{urlencode({'project': ref})}")
        assert response.status_code == 200
        assert "title" not in response.context["form"].initial  # the matter's title is not shown out of scope
        assert scene.matter.title not in response.content.decode()


def test_a_matter_out_of_the_actors_sight_is_refused(scene, persona, mini):
    elsewhere = persona("community_worker", mini.other_subdistrict, "elsewhere")
    own = registry.create_unit_set(
        actor=None,
        name="别处楼院",
        kind=UnitSet.Kind.COMPOUND,
        scope=mini.other_courtyard,
        nodes=[mini.other_courtyard],
    )
    with pytest.raises(SurveyError) as e:
        survey_actions.create_survey(
            actor=elsewhere,
            title="借用别处议题",
            unit_set=own,
            opens_on=timezone.localdate(),
            closes_on=timezone.localdate() + timedelta(days=3),
            questions=QUESTIONS,
            project_ref=f"deliberation.matter:{scene.matter.pk}",
        )
    assert e.value.field == "project_ref"
    assert not Survey.objects.exists()


def test_a_bad_date_is_refused_naming_the_field(client, scene):
    client.force_login(scene.officer)
    response = client.post(reverse("surveys:new"), form_data(scene.matter, closes_on="明天"))
    assert response.status_code == 200 and "closes_on" in response.context["form"].errors
    assert not Survey.objects.exists()


# --- the matter page shows them -------------------------------------------------------------------------------


def test_the_matter_page_shows_its_surveys_with_counts(client, scene):
    m = scene.matter
    survey = open_survey(scene, answered=0)
    other = SurveyHousehold.objects.filter(survey=survey).exclude(unit=scene.mini.units[1]).first()
    survey_actions.submit_response(survey, other, actor=scene.officer, answers={"aware": "no"}, channel="door")
    # An opinion from the resident's household counts toward the matter's 参与率 too.
    actions.enter_opinion(
        m,
        actor=scene.operator,
        on_behalf_of=scene.resident_person,
        unit=scene.mini.units[1],
        text="希望加装电梯",
        channel="hotline",
    )
    report = survey_selectors.figures(survey)
    assert (report.response.numerator, report.participation.numerator) == (1, 2)  # the surveys' own figures
    client.force_login(scene.officer)
    page = client.get(reverse("deliberation:matter", args=[m.pk])).content.decode()
    assert survey.title in page and survey.reference in page
    assert f"1 / {report.households}" in page
    assert f"{report.participation.percent}（2/{report.households}）" in page
    assert reverse("surveys:detail", args=[survey.pk]) in page
    assert "问卷开始" in page  # its opening, on the matter's record

    # The resident of the matter: the open survey and where to answer it (no figures before they are published).
    client.force_login(scene.resident)
    page = client.get(reverse("deliberation:matter", args=[m.pk])).content.decode()
    assert survey.title in page and reverse("surveys:answer", args=[survey.pk]) in page
    shown = f"（2/{report.households}）"
    assert shown not in page and f'href="{reverse("surveys:detail", args=[survey.pk])}"' not in page

    # Closed with its results published: the figures and the public results page for everyone who sees the matter.
    survey_actions.close_survey(survey, actor=scene.officer)
    survey_actions.publish_results(survey, actor=scene.officer, published=True, keys=[])
    page = client.get(reverse("deliberation:matter", args=[m.pk])).content.decode()
    assert reverse("surveys:rates", args=[survey.pk]) in page and shown in page
    client.force_login(scene.officer)
    page = client.get(reverse("deliberation:matter", args=[m.pk])).content.decode()
    assert "问卷结束" in page and f"（1/{report.households} 户作答）" in page  # its closing, on the record


def test_a_draft_is_for_staff_only(client, scene):
    client.force_login(scene.officer)
    client.post(reverse("surveys:new"), form_data(scene.matter))
    survey = Survey.objects.get()
    page = client.get(reverse("deliberation:matter", args=[scene.matter.pk])).content.decode()
    assert survey.title in page and survey.get_status_display() in page
    client.force_login(scene.resident)
    page = client.get(reverse("deliberation:matter", args=[scene.matter.pk])).content.decode()
    assert survey.title not in page


def test_the_matter_page_with_its_surveys_reads_in_english(client, scene):
    survey = open_survey(scene)
    client.force_login(scene.officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("deliberation:matter", args=[scene.matter.pk])).content.decode()
    assert "Start a needs survey" in page and "Participation of this matter" in page
    data = [survey.title, scene.matter.title, scene.matter.summary, scene.matter.unit_set.name]
    for text in data:
        page = page.replace(text, "")
    assert untranslated(page) == []


def test_the_matter_page_costs_the_same_queries_with_more_answers(client, scene, mini, django_assert_max_num_queries):
    survey = open_survey(scene, answered=1)
    url = reverse("deliberation:matter", args=[scene.matter.pk])
    client.force_login(scene.officer)
    with django_assert_max_num_queries(30) as ctx:  # 27 with one open survey (its figures: about ten)
        assert client.get(url).status_code == 200
    first = len(ctx.captured_queries)
    for h in SurveyHousehold.objects.filter(survey=survey, taken=False).order_by("id"):
        survey_actions.submit_response(survey, h, actor=scene.officer, answers={"aware": "no"}, channel="door")
    with django_assert_max_num_queries(first):
        assert client.get(url).status_code == 200


def test_the_demo_matter_of_taoyuan_shows_its_needs_survey():
    ctx = core_demo.DemoContext(stdout=StringIO())
    core_demo.load(ctx)
    deliberation_demo.load(ctx)
    surveys_demo.load(ctx)
    matter = Matter.objects.get(title=deliberation_demo.TAOYUAN_MATTER[0])
    assert matter.stage.code == "solicit"
    survey = Survey.objects.get(title=surveys_demo.TAOYUAN)
    assert survey.project_ref == f"deliberation.matter:{matter.pk}"
    [row] = links.matter_surveys(matter, ctx.user("district_admin"))
    report = survey_selectors.figures(survey)
    assert row.title == surveys_demo.TAOYUAN and row.figures and row.url_kind == "staff"
    assert (row.responses, row.households, row.participation) == (
        report.response.numerator,
        report.households,
        report.participation.percent,
    )
    assert 0 < row.responses < row.households
    deliberation_demo.load(ctx)  # loading again adds nothing
    assert Matter.objects.filter(title=deliberation_demo.TAOYUAN_MATTER[0]).count() == 1
