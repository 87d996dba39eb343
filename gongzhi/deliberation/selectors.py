"""Reads for deliberation: scoped lists paged by key, a matter's record, the households not yet reached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from gongzhi.core import pii
from gongzhi.core.models import Reader
from gongzhi.core.rules import scope_q
from gongzhi.deliberation import votes  # votes.vote_state, looked up at call time (tests stand in a vote)
from gongzhi.deliberation.links import SurveyLink
from gongzhi.deliberation.models import (
    Matter,
    Meeting,
    Objection,
    ProcessTemplate,
    Reach,
    Report,
    StageDefinition,
    StageEvent,
)
from gongzhi.deliberation.process import Blocker, ExitFacts, exit_blockers
from gongzhi.deliberation.votes import VoteState
from gongzhi.organizations.models import Membership
from gongzhi.registry.actions import resolve_unit_set
from gongzhi.registry.models import AreaNode, Ownership, Person, Residence, Unit

PAGE = 50


def matter_units(matter: Matter) -> QuerySet[Unit]:
    """The units a matter covers (its unit set resolved: nodes' subtrees plus listed units)."""
    return resolve_unit_set(matter.unit_set)


def person_units(matter: Matter, person_id: int) -> QuerySet[Unit]:
    """The matter's units the person lives in or owns now (their eligibility to give opinions and object)."""
    lives = Residence.objects.filter(unit=OuterRef("pk"), person_id=person_id, until__isnull=True)
    owns = Ownership.objects.filter(unit=OuterRef("pk"), person_id=person_id, until__isnull=True)
    return matter_units(matter).filter(Q(Exists(lives)) | Q(Exists(owns))).order_by("id")


def body_memberships(matter: Matter, kinds: list[str]) -> QuerySet[Membership]:
    """Current memberships of organisations of `kinds` covering the matter (above or inside its scope)."""
    prefixes = [p for p in _prefixes(matter.path)]
    return Membership.objects.filter(
        Q(organization__path__in=prefixes) | Q(organization__path__startswith=matter.path),
        organization__kind__code__in=kinds,
        organization__dissolved__isnull=True,
        until__isnull=True,
    )


def _prefixes(path: str) -> list[str]:
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def template_for(node: AreaNode) -> ProcessTemplate:
    """The procedure configured for the lowest node containing `node`, else the default one."""
    prefixes = _prefixes(node.path)
    configured = (
        ProcessTemplate.objects.filter(node__path__in=prefixes).select_related("node").order_by("-node__depth").first()
    )
    return configured or ProcessTemplate.objects.get(is_default=True)


def visible_matters(user: Reader) -> QuerySet[Matter]:
    q = scope_q(user, "staff", "path")
    qs = Matter.objects.select_related("stage", "scope")
    return qs if q is None else qs.filter(q)


def matters_page(user: Reader, *, stage: str = "", after: int = 0, size: int = PAGE) -> list[Matter]:
    """Newest first, paged by id (?after=<last id shown>)."""
    qs = visible_matters(user)
    if stage:
        qs = qs.filter(stage__code=stage)
    if after:
        qs = qs.filter(pk__lt=after)
    return list(qs.order_by("-pk")[:size])


def stage_choices() -> list[tuple[str, str]]:
    """(code, name) of every stage of every procedure, the name in the page's language."""
    seen: dict[str, str] = {}
    for stage in StageDefinition.objects.order_by("order").only("code", "name", "name_en"):
        seen.setdefault(stage.code, stage.label)
    return list(seen.items())


def next_stage(matter: Matter) -> StageDefinition | None:
    return matter.template.stages.filter(order__gt=matter.stage.order).order_by("order").first()


def exit_facts(matter: Matter, today: date, vote_state: VoteState | None = None) -> ExitFacts:
    """Gather what the stage's exit guards need: a handful of EXISTS/COUNT queries on this matter only."""
    stage = matter.stage
    features = frozenset(stage.features or [])
    meetings = 0
    if "meeting" in features:
        meetings = Meeting.objects.filter(matter=matter, stage=stage).exclude(minutes="").count()
    if vote_state is None and matter.resolution == Matter.Resolution.VOTE and matter.vote_id:
        vote_state = votes.vote_state(matter.vote_id)
    return ExitFacts(
        features=features,
        today=today,
        notice_days=stage.notice_days,
        notice_ends_on=matter.notice_ends_on,
        open_objections=(
            Objection.objects.filter(matter=matter, status=Objection.Status.OPEN).count() if stage.notice_days else 0
        ),
        has_proposal=matter.proposals.exists() if "amend" in features else False,
        meetings_with_minutes=meetings,
        resolution=matter.resolution,
        vote_certified=bool(vote_state and vote_state.certified),
        vote_passed=vote_state.passed if vote_state else None,
        has_acceptance=(
            Report.objects.filter(matter=matter, kind=Report.Kind.ACCEPTANCE).exists()
            if "report" in features
            else False
        ),
        is_last=stage.is_final or next_stage(matter) is None,
    )


def blockers(matter: Matter, today: date) -> list[Blocker]:
    return exit_blockers(exit_facts(matter, today))


@dataclass
class HouseholdRow:
    unit: Unit
    label: str
    names: list[str]


def not_reached_page(matter: Matter, *, after: int = 0, size: int = PAGE) -> list[HouseholdRow]:
    """逐户征求: households of the matter not yet reached, by unit id; masked names; three queries per page."""
    reached = Reach.objects.filter(matter=matter, unit=OuterRef("pk"))
    qs = matter_units(matter).filter(~Exists(reached))
    if after:
        qs = qs.filter(pk__gt=after)
    units = list(
        qs.select_related("node", "node__parent")
        .prefetch_related(
            Prefetch(
                "residences",
                queryset=Residence.objects.filter(until__isnull=True).select_related("person").order_by("id"),
                to_attr="current_residences",
            )
        )
        .order_by("pk")[:size]
    )
    rows = []
    for unit in units:
        building = unit.node.parent.name if unit.node.parent_id and unit.node.level_id else ""
        label = f"{building}{unit.node.name}{unit.number}" if building else f"{unit.node.name}{unit.number}"
        names = [pii.mask_name(r.person.name) for r in unit.current_residences if r.person.kind == "natural"]
        rows.append(HouseholdRow(unit, label, names))
    return rows


def unit_people(unit: Unit) -> list:
    """Current residents and owners of a unit (operator entry picks one as the resident spoken for)."""
    return list(
        Person.objects.filter(
            Q(residences__unit=unit, residences__until__isnull=True)
            | Q(ownerships__unit=unit, ownerships__until__isnull=True)
        )
        .distinct()
        .order_by("id")[:50]
    )


def matter_record(matter: Matter) -> dict:
    """Everything the matter page shows: a fixed number of queries whatever the matter's size."""
    return {
        "events": list(matter.events.select_related("stage").prefetch_related("documents").order_by("id")[:500]),
        "proposals": list(matter.proposals.select_related("stage").order_by("-number")[:20]),
        "meetings": list(matter.meetings.select_related("stage").order_by("held_on", "id")),
        "objections": list(matter.objections.select_related("person").order_by("id")[:200]),
        "reports": list(matter.reports.order_by("id")),
        "accounts": list(matter.accounts.order_by("on", "id")),
        "stages": list(matter.template.stages.order_by("order")),
    }


@dataclass(frozen=True)
class TimelineRow:
    """One line of the matter's 全过程记录: one of its own steps, or a survey of it opening or closing."""

    at: datetime
    event: StageEvent | None = None
    survey: SurveyLink | None = None
    opened: bool = False


def timeline(events: list[StageEvent], surveys: list[SurveyLink]) -> list[TimelineRow]:
    """The matter's steps and its surveys' openings and closings, in time order (steps keep their order)."""
    rows = [TimelineRow(e.at, event=e) for e in events]
    for s in surveys:
        if s.opened_at:
            rows.append(TimelineRow(s.opened_at, survey=s, opened=True))
        if s.closed_at:
            rows.append(TimelineRow(s.closed_at, survey=s))
    return sorted(rows, key=lambda r: r.at)


def public_record(matter: Matter) -> dict:
    """What a resident of the matter sees: the stages, the current proposal, the resolution, the notices."""
    return {
        "stages": list(matter.template.stages.order_by("order")),
        "proposal": matter.proposals.order_by("-number").first(),
        "notices": list(matter.notices.filter(status="published").order_by("-id")[:20]),
    }
