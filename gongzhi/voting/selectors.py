"""Reads of votes for pages, the API, notices (公示) and deliberation — each a fixed, small number of queries.

Notices render a vote's voter roll with `roll_page(vote)` (masked names, units, areas; page by `after`) and its
result with `result_view(vote)` (the deciding rule, every condition as an exact fraction and a percentage).
Deliberation finds the votes it called with `votes_for_matter("deliberation.matter:42")`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum

from gongzhi.core.models import Reader
from gongzhi.core.templatetags.numbers import fixed
from gongzhi.voting import receipts
from gongzhi.voting.models import Ballot, BallotLogEntry, BallotTreeHead, Vote, VoterRollEntry, VoterRollUnit
from gongzhi.voting.recount import outcome_json
from gongzhi.voting.tally import (
    MORE_THAN_HALF,
    TWO_THIRDS_OR_MORE,
    Choice,
    ConsentOutcome,
    ConsentRule,
    Head,
    OwnerVoteOutcome,
    ResidentsMeetingOutcome,
    Threshold,
    format_percent,
    tally_consent,
    tally_owner_vote,
    tally_residents_meeting,
)


def public_votes(*, size: int = 5) -> list[Vote]:
    """Votes whose roll has been published (and so whose progress and result anyone may read), newest first."""
    return list(Vote.objects.exclude(status=Vote.Status.DRAFT).select_related("scope").order_by("-id")[:size])


def votes_for_matter(matter_ref: str) -> QuerySet[Vote]:
    return Vote.objects.filter(matter_ref=matter_ref).order_by("-id")


# -------------------------------------------------------------------------------------------- tally


_CHOICES: dict[str | None, Choice | None] = {None: None, "": None, **{c.value: c for c in Choice}}


def heads_of(vote: Vote) -> list[Head]:
    """The vote's heads with their choices (None = did not take part), ids = the opaque roll tokens.

    Unordered: the tally is a sum, and sorting 100,000 joined rows made PostgreSQL spill to disk."""
    return [
        Head(id=token, developer=developer, choice=_CHOICES.get(choice, choice), area=area)
        for token, developer, area, choice in VoterRollEntry.objects.filter(vote=vote)
        .order_by()
        .values_list("token", "developer", "area", "ballots__choice")
    ]


def tally_vote(vote: Vote) -> OwnerVoteOutcome | ResidentsMeetingOutcome | ConsentOutcome:
    """The outcome under the vote's rule, from the database: one query whatever the size."""
    if vote.kind == Vote.Kind.OWNER:
        return tally_owner_vote(vote.matter, heads_of(vote))
    counts = Ballot.objects.filter(vote=vote).aggregate(n=Count("id"), yes=Count("id", filter=Q(choice="yes")))
    if vote.kind == Vote.Kind.RESIDENTS_MEETING:
        return tally_residents_meeting(vote.total_heads, counts["n"], counts["yes"], basis="households")
    rule = ConsentRule(
        threshold=Fraction(vote.consent_numerator or 4, vote.consent_denominator or 5), inclusive=vote.consent_inclusive
    )
    return tally_consent(rule, vote.total_heads, counts["yes"], participating=counts["n"])


def _text(value: object) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    return str(value)


def outcome_snapshot(vote: Vote, outcome: OwnerVoteOutcome | ResidentsMeetingOutcome | ConsentOutcome) -> dict:
    """The outcome as stored on the vote (JSON): rule, conditions with exact ratios, reasons in both languages;
    for owner votes also the recount command's exact output, so anyone can compare."""
    data = {
        "kind": vote.kind,
        "passed": outcome.passed,
        "quorum_met": outcome.quorum_met,
        "rule": outcome.rule,
        "rule_description_zh": outcome.rule_description_zh,
        "rule_description_en": outcome.rule_description_en,
        "conditions": [
            {
                "key": c.key,
                "kind": c.kind,
                "label_zh": c.label_zh,
                "label_en": c.label_en,
                "numerator": _text(c.numerator),
                "denominator": _text(c.denominator),
                "threshold": c.threshold.describe(),
                "ratio": _text(c.ratio),
                "met": c.met,
            }
            for c in outcome.conditions
        ],
        "reasons_zh": list(outcome.reasons_zh),
        "reasons_en": list(outcome.reasons_en),
    }
    if isinstance(outcome, OwnerVoteOutcome):
        data["recount"] = outcome_json(outcome)
    return data


@dataclass
class ConditionRow:
    label_zh: str
    label_en: str
    kind: str
    numerator: str
    denominator: str
    threshold: str
    fraction: str
    percent: str
    met: bool


def _shown(value: Decimal | int) -> str | int:
    """A count as it is, an area to the hundredth of a square metre (a database sum can carry 12 places)."""
    return fixed(value, 2) if isinstance(value, Decimal) else value


def _percent(ratio: str | None) -> str:
    return format_percent(Fraction(ratio)) if ratio else "—"


def result_view(vote: Vote) -> dict | None:
    """For the result page and notices: None until the vote has closed (no query)."""
    if not vote.result:
        return None
    r = vote.result
    rows = [
        ConditionRow(
            c["label_zh"],
            c["label_en"],
            c["kind"],
            c["numerator"],
            c["denominator"],
            c["threshold"],
            c["ratio"] or "—",
            _percent(c["ratio"]),
            c["met"],
        )
        for c in r["conditions"]
    ]
    return {
        "passed": r["passed"],
        "quorum_met": r["quorum_met"],
        "rule": r["rule"],
        "rule_zh": r["rule_description_zh"],
        "rule_en": r["rule_description_en"],
        "conditions": rows,
        "reasons_zh": r["reasons_zh"],
        "reasons_en": r["reasons_en"],
        "recount": r.get("recount"),
    }


# ------------------------------------------------------------------------------------------ turnout


def quorum_for(vote: Vote) -> Threshold | None:
    if vote.kind == Vote.Kind.OWNER:
        return TWO_THIRDS_OR_MORE
    if vote.kind == Vote.Kind.RESIDENTS_MEETING:
        return MORE_THAN_HALF
    return None


@dataclass
class Share:
    part: str | int
    whole: str | int
    fraction: str
    percent: str
    met: bool | None

    @classmethod
    def of(cls, part: Decimal | int, whole: Decimal | int, bound: Threshold | None) -> Share:
        ratio = Fraction(part) / Fraction(whole) if whole else None
        return cls(
            _shown(part),
            _shown(whole),
            _text(ratio) if ratio is not None else "—",
            format_percent(ratio) if ratio is not None else "—",
            bound.is_met(ratio) if bound is not None else None,
        )


BUILDING_ROWS = 500


def turnout(vote: Vote, *, by_building: bool = True) -> dict:
    """Participating area and heads against the quorum, in total (from the vote row) and by building (one
    grouped query, at most BUILDING_ROWS rows)."""
    bound = quorum_for(vote)
    data = {
        "area": Share.of(vote.participating_area, vote.total_area, bound),
        "heads": Share.of(vote.ballot_count, vote.total_heads, bound),
        "quorum": bound.describe() if bound else "",
        "buildings": [],
    }
    if by_building:
        voted = Q(entry__ballots__isnull=False)
        rows = (
            VoterRollUnit.objects.filter(vote=vote)
            .values("building_id", "building__name", "building__parent__name")
            .annotate(
                all_area=Sum("area"),
                all_heads=Count("entry", distinct=True),
                voted_area=Sum("area", filter=voted),
                voted_heads=Count("entry", distinct=True, filter=voted),
            )
            .order_by("building__parent__name", "building__name", "building_id")[:BUILDING_ROWS]
        )
        data["buildings"] = [
            {
                "building": r["building__name"] or "—",
                # The page names a building with its compound: 1号楼 stands in many 院.
                "compound": r["building__parent__name"] or "",
                "area": Share.of(r["voted_area"] or 0, r["all_area"], bound),
                "heads": Share.of(r["voted_heads"], r["all_heads"], bound),
            }
            for r in rows
        ]
    return data


# --------------------------------------------------------------------------------------- roll pages

PAGE_SIZE = 100


def roll_page(
    vote: Vote,
    *,
    after: int = 0,
    q: str = "",
    with_voted: bool = False,
    with_choice: bool = False,
    size: int = PAGE_SIZE,
) -> tuple[list[dict], int | None]:
    """One page of the roll by key (roll number): masked names, units, areas. `with_voted` adds whether the
    head has voted (for workers chasing turnout); `with_choice` adds how (after closing, for those allowed).
    Returns (rows, next_after)."""
    qs = VoterRollEntry.objects.filter(vote=vote, number__gt=after).order_by("number")
    if q:
        qs = qs.filter(Exists(VoterRollUnit.objects.filter(entry=OuterRef("pk"), number=q.strip())))
    fields = ["pk", "number", "token", "developer", "name_masked", "units_label", "unit_count", "area", "area_source"]
    if with_voted or with_choice:
        qs = qs.annotate(voted=Exists(Ballot.objects.filter(roll_entry=OuterRef("pk"))))
        fields.append("voted")
    if with_choice:
        fields += ["ballots__choice", "ballots__channel"]
    rows = list(qs.values(*fields)[: size + 1])
    nxt = rows[size - 1]["number"] if len(rows) > size else None
    return rows[:size], nxt


def data_file(vote: Vote) -> dict:
    """The recount file (`python -m gongzhi.voting.recount FILE`): opaque ids of this vote, exact areas."""
    units: dict[int, list[dict]] = {}
    for entry_id, token, area in (
        VoterRollUnit.objects.filter(vote=vote).order_by("entry_id", "id").values_list("entry_id", "token", "area")
    ):
        units.setdefault(entry_id, []).append({"id": token, "area": format(area, "f")})
    owners = [
        {"id": token, "developer": developer, "choice": choice, "units": units.get(pk, [])}
        for pk, token, developer, choice in VoterRollEntry.objects.filter(vote=vote)
        .order_by("number")
        .values_list("pk", "token", "developer", "ballots__choice")
    ]
    return {"matter": vote.matter, "owners": owners}


# ------------------------------------------------------------------------------------------ receipts


@dataclass
class ReceiptCheck:
    vote: Vote
    seq: int | None  # None while the entry waits to be sealed
    recorded_at: Any
    code: str
    choice: str | None  # only for the signed-in voter of that ballot
    entry: BallotLogEntry | None = None
    tree_size: int | None = None  # the latest signed tree head, which holds this entry
    sealed_at: Any = None


def check_receipt(code_text: str, *, vote: Vote | None = None, user: Reader = None) -> ReceiptCheck | None:
    code = receipts.normalize_code(code_text)
    if code is None:
        return None
    qs = BallotLogEntry.objects.select_related("vote").filter(receipt_code=code)
    if vote is not None:
        qs = qs.filter(vote=vote)
    entry = qs.first()
    if entry is None:
        return None
    choice = None
    person_id = getattr(user, "person_id", None) if getattr(user, "is_authenticated", False) else None
    if person_id:
        choice = (
            Ballot.objects.filter(vote=entry.vote, roll_entry__token=entry.roll_token, roll_entry__voter_id=person_id)
            .values_list("choice", flat=True)
            .first()
        )
    head = None
    if entry.seq is not None:
        head = (
            BallotTreeHead.objects.filter(vote=entry.vote)
            .order_by("-tree_size")
            .values("tree_size", "sealed_at")
            .first()
        )
    return ReceiptCheck(
        entry.vote, entry.seq, entry.recorded_at, receipts.format_code(code), choice, entry,
        head and head["tree_size"], head and head["sealed_at"],
    )  # fmt: skip


def receipt_proof(code_text: str, *, vote: Vote | None = None) -> dict | None:
    """The inclusion proof of a receipt's entry in the latest signed tree head (what the voter may download and
    check with `merkle.py`); None if there is no such sealed entry. Nothing personal: the same opaque token,
    commitment and hashes as the public log."""
    code = receipts.normalize_code(code_text)
    if code is None:
        return None
    qs = BallotLogEntry.objects.filter(receipt_code=code).exclude(vote__status=Vote.Status.DRAFT)
    if vote is not None:
        qs = qs.filter(vote=vote)
    entry = qs.first()
    proof = receipts.inclusion_proof(entry) if entry is not None else None
    return proof.as_json() if proof else None


def latest_head(vote: Vote) -> BallotTreeHead | None:
    return BallotTreeHead.objects.filter(vote=vote).order_by("-tree_size").first()


def log_page(vote: Vote, *, after: int = 0, size: int = PAGE_SIZE) -> tuple[list[dict], int | None]:
    rows = list(
        BallotLogEntry.objects.filter(vote=vote, seq__gt=after)
        .order_by("seq")
        .values("seq", "recorded_at", "roll_token", "commitment", "leaf_hash", "mac")[: size + 1]
    )
    nxt = rows[size - 1]["seq"] if len(rows) > size else None
    return rows[:size], nxt


def result_summary(vote: Vote) -> dict:
    """For notices (公示): the deciding rule, pass/fail, each condition as "a/b (xx.xx%)" against its bound and
    the reasons for every failed one — figures only, nobody's choice."""
    view = result_view(vote)
    if view is None:
        return {"rule": "", "passed": None, "conditions": [], "reasons": []}
    return {
        "rule": view["rule_zh"],
        "passed": view["passed"],
        "conditions": [
            {
                "label": c.label_zh,
                "ratio": f"{c.numerator}/{c.denominator} = {c.fraction} ({c.percent})" if c.fraction != "—" else "—",
                "threshold": c.threshold,
                "met": c.met,
            }
            for c in view["conditions"]
        ],
        "reasons": view["reasons_zh"],
    }
