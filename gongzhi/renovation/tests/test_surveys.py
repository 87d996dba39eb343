"""Renovation and the surveys part: orders count toward a survey's 参与率, the households that ordered become a
survey's frame, and the project's surveys stand in its timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from gongzhi.renovation import actions, selectors
from gongzhi.renovation.actions import RenovationError
from gongzhi.renovation.participation import participating_households
from gongzhi.renovation.tests.builders import build_scene, soon, to_works
from gongzhi.surveys import actions as survey_actions
from gongzhi.surveys import selectors as survey_selectors
from gongzhi.surveys.participation import SOURCES
from testkit.surveys import QUESTIONS

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(mini):
    return build_scene(mini)


def _order(scene, unit, agrees=True):
    return actions.place_order(
        scene.project,
        actor=scene.operator,
        unit=unit,
        item=scene.pipes,
        agrees=agrees,
        channel="door",
        on_behalf_of=unit.residences.filter(until__isnull=True).first().person,
    )


def _survey(scene, unit_set, **kw):
    today = timezone.localdate()
    return survey_actions.create_survey(
        actor=None,
        title=kw.pop("title", "改造后满意度调查"),
        unit_set=unit_set,
        opens_on=today - timedelta(days=1),
        closes_on=today + timedelta(days=30),
        questions=QUESTIONS,
        project_ref=scene.project.ref,
        **kw,
    )


def test_orders_are_a_registered_participation_source(scene):
    assert SOURCES["renovation.orders"] is participating_households
    units = scene.mini.units
    _order(scene, units[0])
    _order(scene, units[1], agrees=False)  # answering no is taking part too
    ids = [u.pk for u in units]
    assert participating_households(scene.project.ref, ids) == {units[0].pk, units[1].pk}
    assert participating_households("renovation.project:999999", ids) == set()
    assert participating_households("voting.vote:1", ids) == set()


def test_a_residents_defect_counts_as_taking_part(scene):
    p = to_works(scene)
    actions.report_defect(p, actor=scene.resident, source="resident", description="扶手松动", deadline=soon())
    assert participating_households(p.ref, [u.pk for u in scene.mini.units]) == {scene.mini.units[1].pk}


def test_the_households_that_ordered_become_the_satisfaction_surveys_frame(scene):
    with pytest.raises(RenovationError) as err:
        actions.survey_frame(scene.project, actor=scene.officer)
    assert err.value.status == 409
    units = scene.mini.units
    _order(scene, units[0])
    _order(scene, units[1])
    frame = actions.survey_frame(scene.project, actor=scene.officer)
    assert set(frame.units.values_list("pk", flat=True)) == {units[0].pk, units[1].pk}
    with pytest.raises(PermissionDenied):
        actions.survey_frame(scene.project, actor=scene.resident)  # not an officer
    survey = survey_actions.open_survey(_survey(scene, frame), actor=None)
    report = survey_selectors.figures(survey)
    # no answers yet, but both households ordered: they took part in the project
    assert (report.participation.numerator, report.participation.denominator) == (2, 2)


def test_the_survey_page_flow_from_the_project(client, scene):
    _order(scene, scene.mini.units[0])
    to_works(scene)
    client.force_login(scene.officer)
    page = client.get(reverse("renovation:project", args=[scene.project.pk])).content.decode()
    assert reverse("renovation:survey-frame", args=[scene.project.pk]) in page
    response = client.post(reverse("renovation:survey-frame", args=[scene.project.pk]))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('surveys:new')}?project={scene.project.ref}"
    client.force_login(scene.resident)
    page = client.get(reverse("renovation:project", args=[scene.project.pk])).content.decode()
    assert reverse("renovation:survey-frame", args=[scene.project.pk]) not in page


def test_the_projects_survey_stands_in_its_timeline(client, scene):
    p = scene.project
    draft = _survey(scene, p.unit_set, title="草稿问卷")
    survey = survey_actions.open_survey(_survey(scene, p.unit_set), actor=None)
    titles = [e.title for e in selectors.timeline(p, staff=False)]
    assert "问卷调查：改造后满意度调查" in titles and not any(draft.title in t for t in titles)
    entry = next(e for e in selectors.timeline(p, staff=False) if e.kind == "survey")
    assert entry.url == reverse("surveys:answer", args=[survey.pk])

    survey_actions.close_survey(survey, actor=None)
    ended = [e for e in selectors.timeline(p, staff=False) if e.title == "问卷结束：改造后满意度调查"]
    assert ended and ended[0].detail == ""  # results not published: residents see no figure
    staff_view = [e for e in selectors.timeline(p, staff=True) if e.title == "问卷结束：改造后满意度调查"]
    assert staff_view[0].detail.startswith("满意率") and staff_view[0].url == reverse(
        "surveys:detail", args=[survey.pk]
    )

    client.force_login(scene.officer)
    en = client.get(reverse("renovation:timeline", args=[p.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Survey: 改造后满意度调查" in en and "Satisfaction" in en
