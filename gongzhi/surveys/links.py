"""The surveys of a deliberation matter (一征's needs survey, and any other tagged with the matter).

Surveys reads deliberation, not the other way round: what the matter page shows of its surveys comes from the
reader registered here with `deliberation.links` (from SurveysConfig.ready()), and the matter page's
"以问卷征求需求" leads to this part's new-survey page, filled in from the matter by `project_initial`.
A survey belongs to a matter by its `project_ref` ("deliberation.matter:42"); the figures are those of
`selectors.figures` — 参与率 there counts every participation record of the matter (opinions, meetings, votes,
answers), as the survey's own pages show it.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from django.urls import reverse

from gongzhi.core.gate import allows
from gongzhi.core.ids import parse_id
from gongzhi.core.models import Reader
from gongzhi.deliberation import links
from gongzhi.deliberation.models import Matter
from gongzhi.surveys import selectors
from gongzhi.surveys.models import Survey

MATTER_PREFIX = "deliberation.matter:"
SHOWN = 10  # a matter has a survey or two; the page shows the newest ten (each costs its figures' queries)


def matter_ref(matter: Matter) -> str:
    return f"{MATTER_PREFIX}{matter.pk}"


def matter_of(project_ref: str) -> Matter | None:
    """The matter a project reference names ("deliberation.matter:42"), if it names one that exists."""
    if not project_ref.startswith(MATTER_PREFIX):
        return None
    matter_id = parse_id(project_ref.removeprefix(MATTER_PREFIX))
    if matter_id is None:
        return None
    return Matter.objects.select_related("stage", "unit_set", "scope").filter(pk=matter_id).first()


def read_matter_surveys(matter: Matter, user: Reader) -> list[links.SurveyLink]:
    """The matter's surveys as `user` may see them: staff in scope every one (drafts too) with its figures and
    its page; others the opened ones, the figures and results page once published, the answer page while they
    may answer."""
    out = []
    for s in Survey.objects.filter(project_ref=matter_ref(matter)).order_by("-id")[:SHOWN]:
        staff = allows(user, "surveys.view_survey", s)
        if not staff and s.status == Survey.Status.DRAFT:
            continue
        url, kind = "", ""
        if staff:
            url, kind = reverse("surveys:detail", args=[s.pk]), "staff"
        elif s.results_published:
            url, kind = reverse("surveys:rates", args=[s.pk]), "results"
        elif allows(user, "surveys.answer_survey", s):
            url, kind = reverse("surveys:answer", args=[s.pk]), "answer"
        row = links.SurveyLink(
            reference=s.reference,
            title=s.title,
            status=s.status,
            status_label=str(s.get_status_display()),
            opened_at=s.opened_at,
            closed_at=s.closed_at,
            url=url,
            url_kind=kind,
        )
        if s.status != Survey.Status.DRAFT and (staff or s.results_published):
            report = selectors.figures(s)
            row = replace(
                row,
                figures=True,
                responses=report.response.numerator,
                households=report.households,
                participation=report.participation.percent,
                participants=report.participation.numerator,
            )
        out.append(row)
    return out


def needs_survey_start(matter: Matter, user: Reader) -> str:
    """The new-survey page for the matter, for those who may build surveys over its scope."""
    if not allows(user, "surveys.add_survey", matter.scope):
        return ""
    return f"{reverse('surveys:new')}?{urlencode({'project': matter_ref(matter)})}"


def project_initial(project_ref: str, user: Reader) -> dict:
    """What the new-survey form starts with for a project: for a matter whose needs `user` may survey (its 一征),
    the title "<matter>需求征集" and the matter's households as the unit set; else the reference alone."""
    initial = {"project_ref": project_ref[:100]}
    matter = matter_of(project_ref)
    if matter is not None and allows(user, "deliberation.survey_needs", matter):
        initial["title"] = f"{matter.title}需求征集"[:200]  # data, in the matter's own words
        initial["unit_set"] = matter.unit_set_id
    return initial


def register() -> None:
    links.register_survey_reader("surveys.surveys", read_matter_surveys)
    links.register_needs_survey_start("surveys.new", needs_survey_start)
