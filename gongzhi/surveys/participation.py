"""参与率's numerator: which households of a project have at least one participation record, from every part.

A *source* is a function `(project_ref, unit_ids) -> unit ids` (unit_ids: a queryset of ids, used as a
subquery) answering which of these households took
part in the project named by `project_ref` ("deliberation.matter:42", "voting.vote:3", "renovation.project:7").
Parts add their own with `register_source(name, fn)` from their AppConfig.ready(); the renovation part will add
its orders and supervision acts this way. Built in:

- ``surveys.responses`` — households with a counted response to any survey of the same project (this app);
- ``deliberation.records`` — opinions and objections given for the matter (by unit), and attendance at its
  meetings (by the attendee's current homes);
- ``voting.ballots`` — households on the roll of a ballot cast in a vote of the project (the vote itself, or a
  vote called for the deliberation matter).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.apps import apps
from django.db.models import Q

from gongzhi.deliberation.models import Attendance, Objection, Opinion
from gongzhi.registry.models import Residence
from gongzhi.surveys.models import SurveyHousehold
from gongzhi.voting.models import VoterRollUnit

Source = Callable[[str, object], Iterable[int]]  # (project_ref, a queryset of unit ids) -> unit ids
SOURCES: dict[str, Source] = {}


def register_source(name: str, fn: Source) -> None:
    """Add (or replace) a source of participation records under `name`."""
    SOURCES[name] = fn


def _ref_id(project_ref: str, prefix: str) -> int | None:
    if not project_ref.startswith(prefix + ":"):
        return None
    try:
        return int(project_ref.split(":", 1)[1])
    except ValueError:
        return None


def survey_responses(project_ref: str, unit_ids) -> set[int]:
    return set(
        SurveyHousehold.objects.filter(survey__project_ref=project_ref, taken=True, unit_id__in=unit_ids)
        .values_list("unit_id", flat=True)
        .distinct()
    )


def deliberation_records(project_ref: str, unit_ids) -> set[int]:
    matter_id = _ref_id(project_ref, "deliberation.matter")
    if matter_id is None or not apps.is_installed("gongzhi.deliberation"):
        return set()
    out = set(Opinion.objects.filter(matter_id=matter_id, unit_id__in=unit_ids).values_list("unit_id", flat=True))
    out |= set(Objection.objects.filter(matter_id=matter_id, unit_id__in=unit_ids).values_list("unit_id", flat=True))
    attendees = Attendance.objects.filter(meeting__matter_id=matter_id, status="present").values("person_id")
    out |= set(
        Residence.objects.filter(person_id__in=attendees, until__isnull=True, unit_id__in=unit_ids).values_list(
            "unit_id", flat=True
        )
    )
    return out


def voting_ballots(project_ref: str, unit_ids) -> set[int]:
    if not apps.is_installed("gongzhi.voting"):
        return set()

    vote_id = _ref_id(project_ref, "voting.vote")
    which = Q(vote_id=vote_id) if vote_id is not None else Q(vote__matter_ref=project_ref)
    return set(
        VoterRollUnit.objects.filter(which, entry__ballots__isnull=False, unit_id__in=unit_ids)
        .values_list("unit_id", flat=True)
        .distinct()
    )


register_source("surveys.responses", survey_responses)
register_source("deliberation.records", deliberation_records)
register_source("voting.ballots", voting_ballots)


def participants(survey, unit_ids) -> set[int]:
    """Households (unit ids) of `unit_ids` with a participation record of the survey's project.

    A survey without a project counts its own responses only.
    """
    if not survey.project_ref:
        return set(
            SurveyHousehold.objects.filter(survey=survey, taken=True, unit_id__in=unit_ids).values_list(
                "unit_id", flat=True
            )
        )
    out: set[int] = set()
    for fn in SOURCES.values():
        out |= set(fn(survey.project_ref, unit_ids))
    return out
