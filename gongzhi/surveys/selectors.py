"""Reads: the figures of a survey (whole, per area node, per building), its data file, progress and exports.

Every figure is computed by `gongzhi.surveys.rates.compute` — the very code behind
`python -m gongzhi.surveys.rates FILE` — from the same rows the data file holds, so a published figure can be
recomputed from its file. Costs a fixed number of queries whatever the survey's size.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from gongzhi.core.models import Reader
from gongzhi.organizations.models import Membership, Organization
from gongzhi.registry.models import AreaNode, Ownership, Residence
from gongzhi.surveys import participation, rates
from gongzhi.surveys.actions import current_version
from gongzhi.surveys.models import AGE_BANDS, Quota, Response, Survey, SurveyHousehold


def own_households(survey: Survey, person_id: int) -> QuerySet[SurveyHousehold]:
    """Frame rows the person answers for: the households they live in or own now; in a per-resident survey,
    their own row; in a survey of organisations, those they are a current member or the legal person of."""
    return SurveyHousehold.objects.filter(own_frame_q(person_id, survey.respondents), survey=survey)


def own_frame_q(person_id: int, respondents: str | None = None) -> Q:
    """The frame rows a person answers for (of one kind of survey, or — None — of any kind)."""
    homes = Residence.objects.filter(person_id=person_id, until__isnull=True).values("unit_id")
    owned = Ownership.objects.filter(person_id=person_id, until__isnull=True).values("unit_id")
    orgs = Membership.objects.filter(person_id=person_id, until__isnull=True).values("organization_id")
    led = Organization.objects.filter(legal_person_id=person_id).values("pk")
    kinds: dict[str, Q] = {
        Survey.Respondents.HOUSEHOLD: (Q(unit_id__in=homes) | Q(unit_id__in=owned)) & Q(kind="household"),
        Survey.Respondents.PERSON: Q(person_id=person_id),
        Survey.Respondents.ORGANIZATION: Q(organization_id__in=orgs) | Q(organization_id__in=led),
    }
    if respondents is not None:
        return kinds[respondents]
    return (
        kinds[Survey.Respondents.HOUSEHOLD] | kinds[Survey.Respondents.PERSON] | kinds[Survey.Respondents.ORGANIZATION]
    )


def counted(survey: Survey) -> QuerySet[Response]:
    return Response.objects.filter(survey=survey).exclude(review=Response.Review.REJECTED)


@dataclass
class Rows:
    """What rates.compute needs, by frame token, for one survey (all of it, or under one node)."""

    households: list[str]
    responses: list[rates.ResponseRow]
    participants: list[str]
    building_of: dict[str, int]
    band_of: dict[str, str]


def _rows(survey: Survey, path: str = "", *, breakdown: bool = False) -> Rows:
    """The rows for rates.compute. `breakdown`: the rows will be split by building or band, so an anonymous
    survey's answers (which cannot be attributed) are left out, only who answered is kept."""
    frame = SurveyHousehold.objects.filter(survey=survey)
    if path and path != survey.path:
        frame = frame.filter(path__startswith=path)
    frame_rows = list(frame.values_list("token", "unit_id", "building_id", "taken", "age_band").order_by("token"))
    tokens_of_unit: dict[int, list[str]] = defaultdict(list)
    for t, u, *_ in frame_rows:
        if u is not None:
            tokens_of_unit[u].append(t)
    # Participation records are kept by household: in a per-resident survey each resident of a household that
    # took part counts; a survey of organisations has no households, so no participation.
    part_units = (
        participation.participants(survey, frame.values("unit_id"))
        if survey.respondents != Survey.Respondents.ORGANIZATION
        else set()
    )
    if survey.anonymous:
        # No link is kept: answers count toward the survey as a whole only. Under a node, the households that
        # answered are known (the frame's flag) but not what they said.
        taken = [t for t, _u, _b, tk, _a in frame_rows if tk]
        if breakdown or (path and path != survey.path):
            responses = [rates.ResponseRow(t) for t in taken]
        else:
            answers = list(counted(survey).order_by("pk").values_list("aware", "satisfaction"))
            order = sorted(taken)
            random.Random(f"gongzhi-survey-{survey.pk}").shuffle(order)
            responses = [rates.ResponseRow(t, a, s) for t, (a, s) in zip(order, answers, strict=False)]
    else:
        responses = [
            rates.ResponseRow(t, a, s)
            for t, a, s in counted(survey)
            .filter(household__in=frame)
            .values_list("household__token", "aware", "satisfaction")
        ]
    return Rows(
        households=[t for t, *_ in frame_rows],
        responses=responses,
        participants=sorted(t for u in part_units for t in tokens_of_unit.get(u, ())),
        building_of={t: b for t, _u, b, *_ in frame_rows},
        band_of={t: a for t, *_, a in frame_rows},
    )


def _compute(survey: Survey, rows: Rows) -> rates.Report:
    return rates.compute(
        rows.households, rows.responses, rows.participants, satisfied_from=survey.satisfied_from, target=survey.target
    )


def _split(rows: Rows, group_of: Mapping[str, object]) -> dict[object, Rows]:
    """The rows split by group (building, band) in one pass, so a breakdown costs O(households)."""
    out: dict[object, Rows] = defaultdict(lambda: Rows([], [], [], {}, {}))
    for t in rows.households:
        out[group_of[t]].households.append(t)
    for r in rows.responses:
        out[group_of[r.household]].responses.append(r)
    for p in rows.participants:
        out[group_of[p]].participants.append(p)
    return out


def figures(survey: Survey, node: AreaNode | None = None) -> rates.Report:
    """The three rates (and the response rate) of the survey, or of its households under `node`."""
    return _compute(survey, _rows(survey, node.path if node else ""))


@dataclass
class BuildingRow:
    building: AreaNode
    report: rates.Report
    needed: int | None  # responses the quota asks for
    under_sampled: bool


def by_building(survey: Survey) -> list[BuildingRow]:
    """Per building: the figures, and whether the quota (a share of the building's households) is reached."""
    rows = _rows(survey, breakdown=True)
    groups = _split(rows, rows.building_of)
    buildings = AreaNode.objects.in_bulk(list(groups))
    out = []
    for b, part in groups.items():
        report = _compute(survey, part)
        n = len(part.households)
        needed = math.ceil(n * survey.quota_percent / 100) if survey.quota_percent is not None else None
        out.append(BuildingRow(buildings[b], report, needed, needed is not None and report.response.numerator < needed))
    out.sort(key=lambda r: r.building.path)
    return out


@dataclass
class BandRow:
    band: str
    label: str
    report: rates.Report
    needed: int | None
    under_sampled: bool


def by_age_band(survey: Survey) -> list[BandRow]:
    """Per age band of the household head: responses against the quota (the same share as for buildings)."""
    rows = _rows(survey, breakdown=True)
    groups = _split(rows, rows.band_of)
    out = []
    for band, label in AGE_BANDS:
        part = groups.get(band)
        if part is None:
            continue
        report = _compute(survey, part)
        n = len(part.households)
        needed = math.ceil(n * survey.quota_percent / 100) if survey.quota_percent is not None else None
        out.append(BandRow(band, str(label), report, needed, needed is not None and report.response.numerator < needed))
    return out


def data_file(survey: Survey) -> dict:
    """The survey's figures as `python -m gongzhi.surveys.rates` reads them: households as opaque tokens."""
    rows = _rows(survey)
    return {
        "households": rows.households,
        "responses": [
            {"household": r.household, "aware": r.aware, "satisfaction": r.satisfaction} for r in rows.responses
        ],
        "participants": rows.participants,
        "satisfied_from": survey.satisfied_from,
        "target": f"{survey.target:.4f}",
    }


def surveys_covering(node: AreaNode, *, user: Reader = None, published_only: bool = False) -> QuerySet[Survey]:
    """Open or closed surveys with households under `node` (their scope contains it, or lies under it)."""
    prefixes = [node.path[: i + 1] for i, ch in enumerate(node.path) if ch == "/" and i > 0]
    qs = Survey.objects.exclude(status=Survey.Status.DRAFT).filter(Q(path__in=prefixes) | Q(path__startswith=node.path))
    # only those with households under the node (a district-wide survey may have none in this compound)
    qs = qs.filter(Exists(SurveyHousehold.objects.filter(survey=OuterRef("pk"), path__startswith=node.path)))
    if published_only:
        qs = qs.filter(results_published=True)
    return qs.order_by("-id")


def progress(survey: Survey) -> dict:
    """Responses so far by channel and review state, for the worker's progress page."""
    by_channel = dict(
        Response.objects.filter(survey=survey)
        .values_list("channel")
        .annotate(n=Count("id"))
        .values_list("channel", "n")
    )
    by_review = dict(
        Response.objects.filter(survey=survey).values_list("review").annotate(n=Count("id")).values_list("review", "n")
    )
    return {"channel": by_channel, "review": by_review}


def question_results(survey: Survey, keys: list[str] | None = None) -> list[dict]:
    """Counts per choice (or rating) for the chosen questions of the current version; free text never."""
    version = current_version(survey)
    wanted = [
        q
        for q in version.questions
        if q["type"] not in ("text", "repeat") and not q.get("group") and (keys is None or q["key"] in keys)
    ]
    tallies: dict[str, dict] = {q["key"]: defaultdict(int) for q in wanted}
    answered: dict[str, int] = defaultdict(int)
    for answers in counted(survey).values_list("answers", flat=True).iterator(chunk_size=2000):
        for q in wanted:
            v = answers.get(q["key"])
            if v is None:
                continue
            answered[q["key"]] += 1
            t = tallies[q["key"]]
            if q["type"] == "multiple":
                for c in v:
                    t[c] += 1
            elif q["type"] == "matrix":
                for row, col in v.items():
                    t[f"{row}:{col}"] += 1
            elif q["type"] in ("single", "rating"):
                t[str(v)] += 1
            else:  # number, date: only how many answered
                pass
    out = []
    for q in wanted:
        t = tallies[q["key"]]
        if q["type"] in ("single", "multiple"):
            options = [(c["label"], c.get("label_en", ""), t.get(c["code"], 0)) for c in q["choices"]]
        elif q["type"] == "rating":
            options = [(str(n), str(n), t.get(str(n), 0)) for n in range(q["max"], 0, -1)]
            if q.get("na"):
                options.append(("不了解/不适用", "don't know / n.a.", t.get("na", 0)))
        elif q["type"] == "matrix":
            options = [
                (
                    f"{r['label']}：{c['label']}",
                    f"{r['label_en']}: {c['label_en']}" if r.get("label_en") and c.get("label_en") else "",
                    t.get(f"{r['code']}:{c['code']}", 0),
                )
                for r in q["rows"]
                for c in q["choices"]
            ]
        else:
            options = []
        n = answered[q["key"]]
        out.append(
            {
                "question": q,
                "answered": n,
                "options": [
                    {
                        "label": lab,
                        "label_zh": lab,
                        "label_en": lab_en,
                        "count": c,
                        "percent": rates.round4(c, n) * 100 if n else None,
                    }
                    for lab, lab_en, c in options
                ],
            }
        )
    return out


def quotas(survey: Survey) -> list[Quota]:
    """The survey's quotas with how full they are, in the order they were added."""
    return list(Quota.objects.filter(survey=survey).order_by("pk"))


def full_for_household(survey: Survey, household: SurveyHousehold) -> Quota | None:
    """A full building or age-band quota that this household falls in (its response would be refused)."""
    for q in Quota.objects.filter(survey=survey).exclude(kind=Quota.Kind.CHOICE).order_by("pk"):
        if q.full and q.matches(household.building_id, household.age_band, {}):
            return q
    return None


def full_choice(survey: Survey, key: str, answer: object) -> Quota | None:
    """A full quota on an option chosen in this answer (checked again, under lock, on submit)."""
    for q in Quota.objects.filter(survey=survey, kind=Quota.Kind.CHOICE, question_key=key).order_by("pk"):
        if q.full and q.matches(None, None, {key: answer}):
            return q
    return None
