"""What the surveys part says about a matter, read when its page shows it (deliberation imports no surveys).

The surveys part reads deliberation (a matter's opinions, objections and attendance count toward 参与率), so
deliberation may not import it back. Instead the surveys part registers here, from its AppConfig.ready():

- a *survey reader*: `(matter, reader) -> [SurveyLink]`, the surveys whose `project_ref` names the matter
  ("deliberation.matter:42"), with their figures as the surveys part computes them;
- a *needs-survey start*: `(matter, reader) -> url`, where staff go to start the 一征 needs survey of a
  matter (以问卷征求需求), or "" when the surveys part would refuse them; the deliberation page asks its own
  gate first (`deliberation.survey_needs`: the matter's 一征 stage, a process officer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gongzhi.core.models import Reader
from gongzhi.deliberation.models import Matter


@dataclass(frozen=True)
class SurveyLink:
    """One survey of a matter, as the reader may see it."""

    reference: str  # WJ000012
    title: str
    status: str  # "draft", "open", "closed"
    status_label: str  # in the reader's language
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    figures: bool = False  # the counts below are shown to this reader
    responses: int = 0  # households that answered so far
    households: int = 0  # households in the survey's frame
    participation: str = ""  # 参与率 of the matter's households ("87.50%"), with its numerator and denominator
    participants: int = 0
    url: str = ""  # the page this reader may open
    url_kind: str = ""  # "staff" (the survey's page), "results" (published results), "answer" (answer it)


SurveyReader = Callable[[Matter, Reader], list[SurveyLink]]
NeedsSurveyStart = Callable[[Matter, Reader], str]
_READERS: dict[str, SurveyReader] = {}
_STARTS: dict[str, NeedsSurveyStart] = {}


def register_survey_reader(name: str, fn: SurveyReader) -> None:
    """Add (or replace) the reader `name` (the surveys part registers "surveys.surveys")."""
    _READERS[name] = fn


def register_needs_survey_start(name: str, fn: NeedsSurveyStart) -> None:
    """Add (or replace) where a needs survey of a matter is started (the surveys part: its new-survey page)."""
    _STARTS[name] = fn


def matter_surveys(matter: Matter, user: Reader) -> list[SurveyLink]:
    """The matter's surveys from every registered reader (none installed: an empty list)."""
    out: list[SurveyLink] = []
    for fn in _READERS.values():
        out += fn(matter, user)
    return out


def needs_survey_url(matter: Matter, user: Reader) -> str:
    """Where `user` starts the matter's needs survey, or "" when no part offers them one."""
    for fn in _STARTS.values():
        url = fn(matter, user)
        if url:
            return url
    return ""
