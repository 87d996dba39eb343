"""Surveys' pages and API for an open survey of 油漆厂家属院 (results not published), from surveys/rules.py:

- officers (surveys.manage) build, open, close, review, export and publish; workers who act for residents
  (surveys.collect) enter responses while the survey is open and see progress; every officer also collects;
- the survey, its figures and preview are for staff in scope (surveys.view_survey = staff); the figures are
  answered as absent (404) to everyone else until the results are published;
- the data file behind the figures is for surveys.rates;
- the resident pages are for a resident of a household in the survey's frame: the resident "in scope" here lives
  in a flat of the frame, the one "out of scope" does not (no role makes one part of a frame).
"""

from gongzhi.core.roles import CAPABILITIES
from gongzhi.registry import actions as registry
from gongzhi.registry.models import UnitSet
from gongzhi.surveys import actions
from gongzhi.surveys.models import SurveyHousehold
from testkit import surveys as testing
from testkit.permissions import PUBLIC, SIGNED_IN, Api, Page
from testkit.world import level, make_user

MANAGE = "surveys.manage"
COLLECT = "surveys.collect"
PROGRESS = CAPABILITIES["surveys.collect"] | CAPABILITIES["surveys.manage"]  # surveys.view_progress
FRAME = frozenset({"resident"})  # see above: the in-scope resident lives in the frame


def setup(world):
    mini = world.mini
    sc = testing.build(mini)
    world.survey = testing.make_survey(sc)
    # The resident in scope lives (and owns) in the survey's first flat.
    resident = world.users[("resident", "in")]
    resident.person = sc.people[0]
    resident.save()
    # A staff-entered response (door to door) from the last flat, for the review page.
    worker = make_user("perm-survey-worker", "community_worker", mini.community)
    last = SurveyHousehold.objects.get(survey=world.survey, unit=sc.units[-1])
    world.response = actions.submit_response(world.survey, last, actor=worker, answers={"aware": "no"}, channel="door")
    world.household = SurveyHousehold.objects.get(survey=world.survey, unit=sc.units[1])
    # A draft over a building with no flats: opening it fails with the reason (no households), so it stays a draft.
    empty = registry.create_area_node(actor=None, parent=mini.courtyard, level=level("building"), name="3号楼")
    empty_set = registry.create_unit_set(
        actor=None, name="3号楼", kind=UnitSet.Kind.COMPOUND, scope=mini.courtyard, nodes=[empty]
    )
    world.draft = actions.create_survey(
        actor=None,
        title="空楼调查",
        unit_set=empty_set,
        opens_on=testing.day(0),
        closes_on=testing.day(30),
        questions=testing.QUESTIONS,
    )
    # A second open survey, closed by the first officer who may.
    world.closing = testing.make_survey(sc, title="待结束的调查")


def survey(w):
    return {"pk": w.survey.pk}


def survey_id(w):
    return {"id": w.survey.pk}


# Closing changes the survey: the first officer who may (the district admin) closes it; the other officers in
# scope are then refused (surveys.close_survey needs an open survey).
CLOSED_BY_THE_FIRST = {(role, "in"): 403 for role in CAPABILITIES[MANAGE] - {"district_admin"}}

TABLE = [
    Page("surveys:list", who="staff", refused=302),  # everyone else is sent to 你的问卷
    Page("surveys:new", who=MANAGE),
    Page("surveys:settings", who=MANAGE),
    Page("surveys:mine", who=SIGNED_IN),
    Page("surveys:area", who=PUBLIC, kwargs=lambda w: {"node_id": w.mini.courtyard.pk}),  # published figures
    Page("surveys:detail", who="staff", kwargs=survey),
    Page("surveys:questions", who=MANAGE, kwargs=survey),
    Page("surveys:question-add", who=MANAGE, kwargs=survey),
    Page("surveys:question-edit", who=MANAGE, kwargs=lambda w: {**survey(w), "key": "aware"}),
    Page("surveys:preview", who="staff", kwargs=survey),
    Page("surveys:preview-step", who="staff", kwargs=lambda w: {**survey(w), "n": 1}),
    # Opening the draft fails (no households): officers are sent back to it with the reason.
    Page("surveys:open", who=MANAGE, method="post", kwargs=lambda w: {"pk": w.draft.pk}, ok=302),
    Page("surveys:publish", who=MANAGE, kwargs=survey),
    Page("surveys:progress", who=PROGRESS, kwargs=survey),
    Page("surveys:quotas", who=MANAGE, kwargs=survey),
    # The figures before publication: staff in scope; everyone else is answered as if there were none.
    Page("surveys:rates", who="staff", kwargs=survey, refused=404, anon=404),
    Page("surveys:figures", who="staff", kwargs=survey, refused=404, anon=404),
    Page("surveys:data", who="surveys.rates", kwargs=survey),
    Page("surveys:export", who=MANAGE, kwargs=survey),
    Page("surveys:responses", who=MANAGE, kwargs=survey),
    Page("surveys:response", who=MANAGE, kwargs=lambda w: {**survey(w), "rid": w.response.pk}),
    Page("surveys:enter", who=COLLECT, kwargs=survey),
    Page("surveys:papers", who=PROGRESS, kwargs=survey),  # the paper questionnaires entered, by number
    Page("surveys:enter-form", who=COLLECT, kwargs=lambda w: {**survey(w), "token": w.household.token}),
    # The resident's pages: a household of the frame; anyone else is answered as if the survey were absent.
    Page("surveys:answer", who=FRAME, kwargs=survey, refused=404),
    Page("surveys:answer-code", who=FRAME, kwargs=survey, refused=404),
    Page("surveys:answer-step", who=FRAME, kwargs=lambda w: {**survey(w), "n": 1}, ok=302, refused=404),  # SMS first
    Page("surveys:answer-check", who=FRAME, kwargs=survey, ok=302, refused=404),  # identity not confirmed: back
    Page("surveys:answer-done", who=SIGNED_IN, kwargs=survey, ok=302),  # nothing sent in this session: back
    Api("/api/v1/surveys/", who="staff"),
    Api("/api/v1/surveys/{id}/", who="staff", kwargs=survey_id, refused=404),
    Api("/api/v1/surveys/{id}/buildings/", who=PROGRESS, kwargs=survey_id),
    Api("/api/v1/surveys/{id}/data/", who="surveys.rates", kwargs=survey_id),
    # An empty body: 400 naming the field, for those who may enter responses.
    Api("/api/v1/surveys/{id}/responses/", "post", who=COLLECT, kwargs=survey_id, ok=400),
    # Last, as it changes its survey.
    Page(
        "surveys:close",
        who=MANAGE,
        method="post",
        kwargs=lambda w: {"pk": w.closing.pk},
        ok=302,
        expect=CLOSED_BY_THE_FIRST,
    ),
]
