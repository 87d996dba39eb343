"""Pure vote-tally rules for owners' assemblies, residents' meetings and consent polls.

This module is deliberately free of Django (and of anything outside the standard
library) so that the very same code can be used by the platform, by the offline
recount command (:mod:`gongzhi.voting.recount`) and by auditors.

Legal basis
===========

Owners' joint decisions (业主共同决定事项) — Civil Code Art. 278 (民法典第二百七十八条)
    Items (一)–(九) of Art. 278(1) are the nine :class:`Matter` keys.

    * Quorum (Art. 278(2), first sentence): owners whose exclusive parts make up
      **two thirds or more** (三分之二以上) of the total exclusive area **and** who are
      **two thirds or more** of all owners must take part in the vote.
    * Items (六)–(八) (raising the maintenance fund, alteration/rebuilding, changing
      the use of common parts): the decision needs the consent of owners holding
      **three quarters or more** (四分之三以上) of the *participating* area **and**
      three quarters or more of the *participating* owners.
    * All other items: consent of **more than half** (过半数) of the participating area
      **and** more than half of the participating owners.

    In Chinese statutory drafting "以上" includes the bound (``>=``) while "过半数"
    means strictly more than half (``>``).

Area and headcount — SPC Interpretation on building co-ownership
(最高人民法院关于审理建筑物区分所有权纠纷案件适用法律若干问题的解释)
    * Art. 8: the exclusive area is the area in the real-estate register; if not yet
      registered, the surveyed area; if not yet surveyed, the area in the sale
      contract (:func:`unit_area`).
    * Art. 9: the number of owners is counted per exclusive part, one part = one
      person; but all parts the developer has not sold, or sold but not yet delivered,
      count together as one person, and one buyer owning several parts counts as one
      person (:func:`merge_heads`).

Residents' meetings (居民会议) — Urban Residents' Committee Organisation Law Art. 9
(城市居民委员会组织法第九条)
    The meeting may only be held if **more than half** (过半数) of the adult residents,
    of the household representatives or of the delegates elected by the residents'
    groups are present; a decision needs **more than half** of those present
    (:func:`tally_residents_meeting`).

District consent polls
    A configurable threshold such as "at least 80 % of households agree"
    (:class:`ConsentRule`, :func:`tally_consent`).

Arithmetic
==========

Areas are :class:`~decimal.Decimal` (summed exactly, never rounded) and every ratio
is a :class:`~fractions.Fraction`; bounds are compared exactly.  Floats are refused
everywhere.  Percentages are produced only for display, from exact integer
arithmetic.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

__all__ = [
    "DEVELOPER_HEAD_ID",
    "MORE_THAN_HALF",
    "SPECIAL_MAJORITY",
    "THREE_QUARTERS_OR_MORE",
    "TWO_THIRDS_OR_MORE",
    "AreaSource",
    "Choice",
    "Condition",
    "ConsentBase",
    "ConsentOutcome",
    "ConsentRule",
    "Head",
    "Matter",
    "MeetingBasis",
    "MergePolicy",
    "OwnerVoteOutcome",
    "ResidentsMeetingOutcome",
    "TallyInputError",
    "Threshold",
    "UnitHolding",
    "exact_sum",
    "format_fraction",
    "format_percent",
    "merge_heads",
    "owner_vote_rule",
    "tally_consent",
    "tally_owner_vote",
    "tally_residents_meeting",
    "unit_area",
]


class TallyInputError(ValueError):
    """The input to a tally is invalid (not a legitimate "the vote failed" result)."""


# --------------------------------------------------------------------------- enums


class Matter(StrEnum):
    """The nine matters of Civil Code Art. 278(1), items (一)–(九)."""

    ASSEMBLY_RULES = "assembly_rules"
    COVENANT = "covenant"
    COMMITTEE = "committee"
    PROPERTY_COMPANY = "property_company"
    USE_FUND = "use_fund"
    RAISE_FUND = "raise_fund"
    ALTER_REBUILD = "alter_rebuild"
    CHANGE_USE = "change_use"
    OTHER_MAJOR = "other_major"

    @property
    def item(self) -> int:
        """The item number (1–9) in Civil Code Art. 278(1)."""
        return _MATTER_ITEMS[self]

    @property
    def label_zh(self) -> str:
        """The statutory wording of the item in Chinese."""
        return _MATTER_LABELS_ZH[self]

    @property
    def label_en(self) -> str:
        """An English rendering of the item."""
        return _MATTER_LABELS_EN[self]

    @property
    def special_majority(self) -> bool:
        """True for items (六)–(八), which need three quarters (Art. 278(2))."""
        return self in SPECIAL_MAJORITY


_MATTER_ITEMS: dict[Matter, int] = {m: i for i, m in enumerate(Matter, start=1)}

_MATTER_LABELS_ZH: dict[Matter, str] = {
    Matter.ASSEMBLY_RULES: "制定和修改业主大会议事规则",
    Matter.COVENANT: "制定和修改管理规约",
    Matter.COMMITTEE: "选举业主委员会或者更换业主委员会成员",
    Matter.PROPERTY_COMPANY: "选聘和解聘物业服务企业或者其他管理人",
    Matter.USE_FUND: "使用建筑物及其附属设施的维修资金",
    Matter.RAISE_FUND: "筹集建筑物及其附属设施的维修资金",
    Matter.ALTER_REBUILD: "改建、重建建筑物及其附属设施",
    Matter.CHANGE_USE: "改变共有部分的用途或者利用共有部分从事经营活动",
    Matter.OTHER_MAJOR: "有关共有和共同管理权利的其他重大事项",
}

_MATTER_LABELS_EN: dict[Matter, str] = {
    Matter.ASSEMBLY_RULES: "Adopt or amend the rules of procedure of the owners' assembly",
    Matter.COVENANT: "Adopt or amend the management covenant",
    Matter.COMMITTEE: "Elect the owners' committee or replace its members",
    Matter.PROPERTY_COMPANY: "Engage or dismiss the property-services company or other manager",
    Matter.USE_FUND: "Use the maintenance fund for the buildings and ancillary facilities",
    Matter.RAISE_FUND: "Raise the maintenance fund for the buildings and ancillary facilities",
    Matter.ALTER_REBUILD: "Alter or rebuild the buildings and ancillary facilities",
    Matter.CHANGE_USE: "Change the use of common parts or use them for business",
    Matter.OTHER_MAJOR: "Other major matters of co-ownership and joint management",
}

#: Items (六)–(八) of Art. 278(1): decided by three quarters, not by simple majority.
SPECIAL_MAJORITY: frozenset[Matter] = frozenset({Matter.RAISE_FUND, Matter.ALTER_REBUILD, Matter.CHANGE_USE})


class Choice(StrEnum):
    """A ballot.  ``None`` (not a member) means the head did not take part."""

    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"

    @property
    def label_zh(self) -> str:
        return {"yes": "同意", "no": "反对", "abstain": "弃权"}[self.value]


class AreaSource(StrEnum):
    """Where a unit's exclusive area was taken from (SPC Interpretation Art. 8)."""

    REGISTERED = "registered"  # 不动产登记簿记载的面积
    SURVEYED = "surveyed"  # 测绘机构的实测面积
    CONTRACT = "contract"  # 房屋买卖合同记载的面积


# ------------------------------------------------------------------ exact numbers


def _exact_context() -> decimal.Context:
    """A context in which Decimal addition is exact or raises (never rounds)."""
    ctx = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
    ctx.traps[decimal.Inexact] = True
    ctx.traps[decimal.Rounded] = True
    return ctx


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """Sum Decimals exactly, independent of the ambient decimal context.

    The default context rounds to 28 significant digits; areas must never be
    rounded, so this uses an unbounded precision and traps any rounding.
    """
    total = Decimal(0)
    ctx = _exact_context()
    for value in values:
        total = ctx.add(total, value)
    return total


def _to_area(value: object, what: str) -> Decimal:
    """Validate/convert an area: a finite, non-negative Decimal (ints allowed)."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise TallyInputError(f"{what}: area must be a Decimal, int or decimal string, not {type(value).__name__}")
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise TallyInputError(f"{what}: area {value!r} is not a number") from None
    area = Decimal(value)
    if not area.is_finite():
        raise TallyInputError(f"{what}: area must be finite, got {area}")
    if area < 0:
        raise TallyInputError(f"{what}: area must not be negative, got {area}")
    return area


def _check_count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TallyInputError(f"{what} must be an int, not {type(value).__name__}")
    if value < 0:
        raise TallyInputError(f"{what} must not be negative, got {value}")
    return value


def _ratio(numerator: Decimal | int, denominator: Decimal | int) -> Fraction | None:
    """Exact ratio, or None when the denominator is zero (ratio undefined)."""
    if denominator == 0:
        return None
    return Fraction(numerator) / Fraction(denominator)


def format_percent(value: Fraction, places: int = 2) -> str:
    """Format a fraction as a percentage, rounded half-up, e.g. ``2/3 -> "66.67%"``.

    Uses integer arithmetic only, so the rounding is exact.
    """
    if places < 0:
        raise ValueError("places must be >= 0")
    scaled = value * 100 * 10**places
    sign = "-" if scaled < 0 else ""
    quotient, remainder = divmod(abs(scaled.numerator), scaled.denominator)
    if 2 * remainder >= scaled.denominator:
        quotient += 1
    digits = str(quotient).rjust(places + 1, "0")
    if places:
        return f"{sign}{digits[:-places]}.{digits[-places:]}%"
    return f"{sign}{digits}%"


def format_fraction(value: Fraction | None, places: int = 2) -> str:
    """Format a ratio as ``"a/b (xx.xx%)"``; an undefined ratio as ``"n/a"``."""
    if value is None:
        return "n/a"
    return f"{value.numerator}/{value.denominator} ({format_percent(value, places)})"


def _distinct_percents(ratio: Fraction, bound: Fraction) -> tuple[str, str]:
    """Percentages of ``ratio`` and ``bound`` with enough places to tell them apart.

    Avoids messages like "66.67% < 66.67%" when a ratio is just below a bound.
    """
    for places in range(2, 13):
        a, b = format_percent(ratio, places), format_percent(bound, places)
        if a != b or ratio == bound:
            return a, b
    return format_percent(ratio, 12), format_percent(bound, 12)


# --------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class Threshold:
    """A bound on a ratio: ``ratio >= fraction`` (inclusive) or ``ratio > fraction``.

    ``inclusive=True`` renders the statutory "以上"; ``inclusive=False`` renders
    "过半数"/"超过".
    """

    fraction: Fraction
    inclusive: bool

    def __post_init__(self) -> None:
        if not isinstance(self.fraction, Fraction):
            raise TallyInputError(f"threshold must be a fractions.Fraction, not {type(self.fraction).__name__}")
        if not isinstance(self.inclusive, bool):
            raise TallyInputError("threshold 'inclusive' must be a bool")

    def is_met(self, ratio: Fraction | None) -> bool:
        """Whether ``ratio`` satisfies the bound (an undefined ratio never does)."""
        if ratio is None:
            return False
        return ratio >= self.fraction if self.inclusive else ratio > self.fraction

    @property
    def symbol(self) -> str:
        return "≥" if self.inclusive else ">"

    @property
    def failed_symbol(self) -> str:
        """The relation that holds when the bound is *not* met."""
        return "<" if self.inclusive else "≤"

    @property
    def slug(self) -> str:
        """A stable identifier fragment, e.g. ``ge_4_5`` or ``gt_1_2``."""
        op = "ge" if self.inclusive else "gt"
        return f"{op}_{self.fraction.numerator}_{self.fraction.denominator}"

    def describe(self) -> str:
        return f"{self.symbol} {self.fraction.numerator}/{self.fraction.denominator}"


TWO_THIRDS_OR_MORE = Threshold(Fraction(2, 3), inclusive=True)  # 三分之二以上
THREE_QUARTERS_OR_MORE = Threshold(Fraction(3, 4), inclusive=True)  # 四分之三以上
MORE_THAN_HALF = Threshold(Fraction(1, 2), inclusive=False)  # 过半数


@dataclass(frozen=True)
class Condition:
    """One checked condition of a tally, e.g. "participating area ≥ 2/3 of total".

    ``key`` is a stable identifier (``quorum_area``, ``quorum_owners``,
    ``agree_area``, ``agree_owners``, ``attendance``, ``decision``, ``consent``,
    ``participation``); ``kind`` is ``"quorum"`` or ``"decision"``.
    """

    key: str
    kind: str
    label_zh: str
    label_en: str
    numerator: Decimal | int
    denominator: Decimal | int
    threshold: Threshold
    ratio: Fraction | None
    met: bool

    def formatted_ratio(self, places: int = 2) -> str:
        return format_fraction(self.ratio, places)

    def reason_en(self) -> str:
        """Why the condition failed, e.g. ``quorum not met: participating area
        60.12% < 66.67% (601/1000 < 2/3)``.  Empty string if it was met."""
        if self.met:
            return ""
        prefix = "quorum not met" if self.kind == "quorum" else "not passed"
        bound = self.threshold.fraction
        if self.ratio is None:
            return f"{prefix}: {self.label_en}: nobody took part (required {self.threshold.describe()})"
        got, need = _distinct_percents(self.ratio, bound)
        return (
            f"{prefix}: {self.label_en} {got} {self.threshold.failed_symbol} {need} "
            f"({self.ratio.numerator}/{self.ratio.denominator} "
            f"{self.threshold.failed_symbol} {bound.numerator}/{bound.denominator})"
        )

    def reason_zh(self) -> str:
        """Chinese counterpart of :meth:`reason_en`."""
        if self.met:
            return ""
        prefix = "未达到法定参与表决人数/面积" if self.kind == "quorum" else "未获通过"
        bound = self.threshold.fraction
        if self.ratio is None:
            return f"{prefix}：{self.label_zh}：无人参与（要求 {self.threshold.describe()}）"
        got, need = _distinct_percents(self.ratio, bound)
        return (
            f"{prefix}：{self.label_zh} {got} {self.threshold.failed_symbol} {need}"
            f"（{self.ratio.numerator}/{self.ratio.denominator} "
            f"{self.threshold.failed_symbol} {bound.numerator}/{bound.denominator}）"
        )


def _condition(
    key: str,
    kind: str,
    label_zh: str,
    label_en: str,
    numerator: Decimal | int,
    denominator: Decimal | int,
    threshold: Threshold,
) -> Condition:
    ratio = _ratio(numerator, denominator)
    return Condition(
        key=key,
        kind=kind,
        label_zh=label_zh,
        label_en=label_en,
        numerator=numerator,
        denominator=denominator,
        threshold=threshold,
        ratio=ratio,
        met=threshold.is_met(ratio),
    )


class _OutcomeMixin:
    """Shared helpers for outcomes that carry a tuple of :class:`Condition`."""

    conditions: tuple[Condition, ...]

    @property
    def failed_conditions(self) -> tuple[Condition, ...]:
        return tuple(c for c in self.conditions if not c.met)

    @property
    def reasons_en(self) -> tuple[str, ...]:
        """English reasons for every failed condition (empty if all were met)."""
        return tuple(c.reason_en() for c in self.failed_conditions)

    @property
    def reasons_zh(self) -> tuple[str, ...]:
        """Chinese reasons for every failed condition (empty if all were met)."""
        return tuple(c.reason_zh() for c in self.failed_conditions)

    def condition(self, key: str) -> Condition:
        for c in self.conditions:
            if c.key == key:
                return c
        raise KeyError(key)


# ---------------------------------------------------------- owners' joint decisions


def unit_area(
    registered: Decimal | int | str | None,
    surveyed: Decimal | int | str | None,
    contract: Decimal | int | str | None,
) -> tuple[Decimal, AreaSource]:
    """The exclusive area of a unit per SPC Interpretation Art. 8.

    Registered area (不动产登记簿) first, else surveyed area (实测面积), else the area
    in the sale contract (买卖合同).  ``None`` means "not available"; a value that
    is given but invalid (negative, zero, not finite, a float) is an error rather
    than silently skipped, because it indicates bad data.

    Raises :class:`TallyInputError` if no area is available at all.
    """
    for value, source in (
        (registered, AreaSource.REGISTERED),
        (surveyed, AreaSource.SURVEYED),
        (contract, AreaSource.CONTRACT),
    ):
        if value is None:
            continue
        area = _to_area(value, f"{source.value} area")
        if area == 0:
            raise TallyInputError(f"{source.value} area must be positive, got {area}")
        return area, source
    raise TallyInputError(
        "无法确定专有部分面积：登记面积、实测面积、合同面积均缺失 / "
        "no exclusive area: registered, surveyed and contract area are all missing"
    )


@dataclass(frozen=True)
class Head:
    """One "person" for the headcount of Art. 278 (SPC Interpretation Art. 9).

    ``area`` is the sum of the exclusive areas of all units this head stands for;
    ``choice`` is ``None`` if the head did not take part in the vote.  At most one
    head in a vote may have ``developer=True`` (all developer-held units together).
    """

    id: str
    developer: bool
    choice: Choice | None
    area: Decimal
    unit_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise TallyInputError(f"head id must be a non-empty string, got {self.id!r}")
        if not isinstance(self.developer, bool):
            raise TallyInputError(f"head {self.id}: developer must be a bool")
        if self.choice is not None and not isinstance(self.choice, Choice):
            try:
                object.__setattr__(self, "choice", Choice(self.choice))
            except ValueError:
                raise TallyInputError(f"head {self.id}: unknown choice {self.choice!r}") from None
        object.__setattr__(self, "area", _to_area(self.area, f"head {self.id}"))
        object.__setattr__(self, "unit_ids", tuple(self.unit_ids))

    @property
    def participated(self) -> bool:
        """Took part in the vote (yes, no or abstain)."""
        return self.choice is not None

    @property
    def agreed(self) -> bool:
        return self.choice is Choice.YES


class MergePolicy(StrEnum):
    """How owners linked through co-owned units are grouped into heads.

    ``CONNECTED`` (default)
        Owners are grouped transitively: if A and B co-own unit 1 and A alone owns
        unit 2, then units 1 and 2 (and A and B) are one head.  Rationale: unit 1 is
        one head (co-owners designate one voter) and A, as "the same buyer" of
        units 1 and 2, counts once (SPC Art. 9), so the two must coincide.  No
        natural person is ever counted in two heads, which makes it the
        conservative reading: it can only reduce, never inflate, the headcount.
    ``EXACT_OWNER_SET``
        The "buyer" is the exact set of persons on the title: units with the same
        owner set form one head, {A, B} and {A} are different buyers.  Offered for
        districts whose guidance reads Art. 9 this way.
    """

    CONNECTED = "connected"
    EXACT_OWNER_SET = "exact_owner_set"


#: Head id (and ballot key) for the single developer head.
DEVELOPER_HEAD_ID = "developer"


@dataclass(frozen=True)
class UnitHolding:
    """One exclusive part (专有部分) and who holds it.

    ``owner_ids`` are persons on the title (ignored for developer units);
    ``developer`` marks units the developer has not sold or sold but not yet
    delivered; ``voter_id`` is the co-owners' designated voter (required when a
    non-developer unit has several owners, must be one of them).
    """

    unit_id: str
    area: Decimal
    owner_ids: frozenset[str] = frozenset()
    developer: bool = False
    voter_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.unit_id, str) or not self.unit_id:
            raise TallyInputError(f"unit id must be a non-empty string, got {self.unit_id!r}")
        if not isinstance(self.developer, bool):
            raise TallyInputError(f"unit {self.unit_id}: developer must be a bool")
        if isinstance(self.owner_ids, str):
            raise TallyInputError(f"unit {self.unit_id}: owner_ids must be a collection of ids")
        owners = frozenset(self.owner_ids)
        if any(not isinstance(o, str) or not o for o in owners):
            raise TallyInputError(f"unit {self.unit_id}: owner ids must be non-empty strings")
        object.__setattr__(self, "owner_ids", owners)
        object.__setattr__(self, "area", _to_area(self.area, f"unit {self.unit_id}"))
        if self.developer:
            return
        if not owners:
            raise TallyInputError(f"unit {self.unit_id}: a non-developer unit needs an owner")
        if DEVELOPER_HEAD_ID in owners:
            raise TallyInputError(f"unit {self.unit_id}: owner id {DEVELOPER_HEAD_ID!r} is reserved")
        if self.voter_id is not None and self.voter_id not in owners:
            raise TallyInputError(f"unit {self.unit_id}: designated voter {self.voter_id!r} is not an owner")
        if len(owners) > 1 and self.voter_id is None:
            raise TallyInputError(f"unit {self.unit_id}: co-owned unit without a designated voter")


def merge_heads(
    units: Iterable[UnitHolding],
    ballots: Mapping[str, Choice | str | None] | None = None,
    policy: MergePolicy = MergePolicy.CONNECTED,
) -> list[Head]:
    """Group unit holdings into heads per SPC Interpretation Art. 9.

    * All developer units (unsold, or sold but undelivered) form one head with id
      :data:`DEVELOPER_HEAD_ID`, whatever their ``owner_ids``.
    * Other units are grouped per ``policy`` (see :class:`MergePolicy`); a head's
      area is the exact sum of its units' areas.
    * Each head has exactly one voter.  If any unit of the head carries a
      ``voter_id``, that designation applies to the whole head (so in the example
      of :class:`MergePolicy`, designating B on the co-owned unit 1 makes B the
      voter for units 1 and 2); all designations within a head must name the same
      person.  Without any designation the head's units must all be solely owned
      by the same person, who is the voter.  Anything else is ambiguous and raises
      :class:`TallyInputError`: the owners must designate one voter.
    * Nobody may be the voter of two heads (possible only with
      ``EXACT_OWNER_SET``): one person, one ballot.
    * ``ballots`` maps a voter id (or :data:`DEVELOPER_HEAD_ID`) to a choice; a
      missing key or ``None`` means "did not take part".  A ballot from anyone who
      is not a head's voter is an error (it would otherwise be silently dropped).

    Heads are returned sorted by id; each head's id is its voter's id.
    """
    try:
        policy = MergePolicy(policy)
    except ValueError:
        raise TallyInputError(f"unknown merge policy {policy!r}") from None
    ballots = dict(ballots or {})
    unit_list = list(units)
    seen: set[str] = set()
    for unit in unit_list:
        if not isinstance(unit, UnitHolding):
            raise TallyInputError(f"expected UnitHolding, got {type(unit).__name__}")
        if unit.unit_id in seen:
            raise TallyInputError(f"unit {unit.unit_id} listed twice")
        seen.add(unit.unit_id)

    developer_units = [u for u in unit_list if u.developer]
    owner_units = [u for u in unit_list if not u.developer]

    groups: dict[object, list[UnitHolding]] = {}
    if policy is MergePolicy.CONNECTED:
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            parent.setdefault(x, x)
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for unit in owner_units:
            first, *rest = sorted(unit.owner_ids)
            for other in rest:
                ra, rb = find(first), find(other)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
            find(first)
        for unit in owner_units:
            groups.setdefault(find(min(unit.owner_ids)), []).append(unit)
    elif policy is MergePolicy.EXACT_OWNER_SET:
        for unit in owner_units:
            groups.setdefault(unit.owner_ids, []).append(unit)
    else:  # pragma: no cover - exhaustive
        raise TallyInputError(f"unknown merge policy {policy!r}")

    heads: list[Head] = []
    voters: set[str] = set()

    def choice_for(voter: str) -> Choice | None:
        voters.add(voter)
        raw = ballots.get(voter)
        if raw is None:
            return None
        try:
            return Choice(raw)
        except ValueError:
            raise TallyInputError(f"voter {voter}: unknown choice {raw!r}") from None

    for group in groups.values():
        owners = frozenset().union(*(u.owner_ids for u in group))
        designated = {u.voter_id for u in group if u.voter_id is not None}
        sole = {next(iter(u.owner_ids)) for u in group if len(u.owner_ids) == 1}
        candidates = designated or sole
        if len(candidates) != 1:
            units_txt = ", ".join(sorted(u.unit_id for u in group))
            raise TallyInputError(
                f"owners {sorted(owners)} (units {units_txt}) form one head but have "
                f"several possible voters {sorted(candidates)}; designate one voter"
            )
        voter = next(iter(candidates))
        if voter in voters:
            raise TallyInputError(
                f"person {voter} would be the voter of two heads; designate another "
                "voter so that nobody casts two ballots"
            )
        heads.append(
            Head(
                id=voter,
                developer=False,
                choice=choice_for(voter),
                area=exact_sum(u.area for u in group),
                unit_ids=tuple(sorted(u.unit_id for u in group)),
            )
        )

    if developer_units:
        heads.append(
            Head(
                id=DEVELOPER_HEAD_ID,
                developer=True,
                choice=choice_for(DEVELOPER_HEAD_ID),
                area=exact_sum(u.area for u in developer_units),
                unit_ids=tuple(sorted(u.unit_id for u in developer_units)),
            )
        )

    stray = sorted(set(ballots) - voters)
    if stray:
        raise TallyInputError(f"ballots from persons who are not a head's voter: {stray}")
    heads.sort(key=lambda h: h.id)
    return heads


@dataclass(frozen=True)
class _RuleText:
    id: str
    zh: str
    en: str


_RULE_DOUBLE_MAJORITY = _RuleText(
    "art278_double_majority",
    "《民法典》第二百七十八条：专有部分面积和人数均占三分之二以上的业主参与表决，"
    "经参与表决专有部分面积过半数且参与表决人数过半数的业主同意",
    "Civil Code Art. 278: owners with at least 2/3 of the exclusive area and at least "
    "2/3 of the owners take part; agreed by owners with more than half of the "
    "participating area and more than half of the participating owners",
)
_RULE_THREE_QUARTERS = _RuleText(
    "art278_three_quarters",
    "《民法典》第二百七十八条：专有部分面积和人数均占三分之二以上的业主参与表决，"
    "经参与表决专有部分面积四分之三以上且参与表决人数四分之三以上的业主同意",
    "Civil Code Art. 278: owners with at least 2/3 of the exclusive area and at least "
    "2/3 of the owners take part; agreed by owners with at least 3/4 of the "
    "participating area and at least 3/4 of the participating owners",
)


def owner_vote_rule(matter: Matter | str) -> str:
    """The rule id applied to ``matter``: ``art278_three_quarters`` for items
    (六)–(八), ``art278_double_majority`` otherwise."""
    return _owner_rule_text(_coerce_matter(matter)).id


def _owner_rule_text(matter: Matter) -> _RuleText:
    return _RULE_THREE_QUARTERS if matter in SPECIAL_MAJORITY else _RULE_DOUBLE_MAJORITY


def _coerce_matter(matter: Matter | str) -> Matter:
    if isinstance(matter, Matter):
        return matter
    try:
        return Matter(matter)
    except ValueError:
        raise TallyInputError(f"unknown matter {matter!r}") from None


@dataclass(frozen=True)
class OwnerVoteOutcome(_OutcomeMixin):
    """Result of an owners' joint decision under Civil Code Art. 278.

    Ratios are exact Fractions; the ``agreeing_*_ratio`` are ``None`` when nobody
    (or no area) took part.  ``conditions`` lists, in order, the two quorum checks
    (``quorum_area``, ``quorum_owners``) and the two decision checks
    (``agree_area``, ``agree_owners``); :attr:`reasons_en` / :attr:`reasons_zh`
    explain every failed one.
    """

    matter: Matter
    quorum_met: bool
    passed: bool
    rule: str
    rule_description_zh: str
    rule_description_en: str
    total_area: Decimal
    participating_area: Decimal
    agreeing_area: Decimal
    total_owners: int
    participating_owners: int
    agreeing_owners: int
    participating_area_ratio: Fraction
    participating_owners_ratio: Fraction
    agreeing_area_ratio: Fraction | None
    agreeing_owners_ratio: Fraction | None
    conditions: tuple[Condition, ...]

    RATIO_FIELDS = (
        "participating_area_ratio",
        "participating_owners_ratio",
        "agreeing_area_ratio",
        "agreeing_owners_ratio",
    )

    def format_ratio(self, name: str, places: int = 2) -> str:
        """Format one of :attr:`RATIO_FIELDS` as ``"a/b (xx.xx%)"``."""
        if name not in self.RATIO_FIELDS:
            raise KeyError(name)
        return format_fraction(getattr(self, name), places)

    def formatted_ratios(self, places: int = 2) -> dict[str, str]:
        return {name: self.format_ratio(name, places) for name in self.RATIO_FIELDS}


def tally_owner_vote(matter: Matter | str, heads: Iterable[Head]) -> OwnerVoteOutcome:
    """Tally an owners' vote on ``matter`` under Civil Code Art. 278.

    ``heads`` must already be merged per SPC Interpretation Art. 9 (see
    :func:`merge_heads`): unique ids, at most one developer head.

    Raises :class:`TallyInputError` for invalid input: unknown matter, no heads,
    duplicate head ids, more than one developer head, or a total area of zero.
    Zero participants is *not* an error: the quorum is simply not met.
    """
    matter = _coerce_matter(matter)
    head_list = list(heads)
    if not head_list:
        raise TallyInputError("no owners: the vote has no heads")
    ids: set[str] = set()
    developers = 0
    for head in head_list:
        if not isinstance(head, Head):
            raise TallyInputError(f"expected Head, got {type(head).__name__}")
        if head.id in ids:
            raise TallyInputError(f"duplicate head id {head.id!r}")
        ids.add(head.id)
        developers += head.developer
    if developers > 1:
        raise TallyInputError(
            "more than one developer head: all developer-held units count as one owner (SPC Interpretation Art. 9)"
        )

    total_area = exact_sum(h.area for h in head_list)
    if total_area == 0:
        raise TallyInputError("total exclusive area is zero")
    participants = [h for h in head_list if h.participated]
    agreeing = [h for h in participants if h.agreed]
    participating_area = exact_sum(h.area for h in participants)
    agreeing_area = exact_sum(h.area for h in agreeing)
    total_owners = len(head_list)
    participating_owners = len(participants)
    agreeing_owners = len(agreeing)

    decision = THREE_QUARTERS_OR_MORE if matter in SPECIAL_MAJORITY else MORE_THAN_HALF
    conditions = (
        _condition(
            "quorum_area",
            "quorum",
            "参与表决面积/总面积",
            "participating area / total area",
            participating_area,
            total_area,
            TWO_THIRDS_OR_MORE,
        ),
        _condition(
            "quorum_owners",
            "quorum",
            "参与表决人数/总人数",
            "participating owners / all owners",
            participating_owners,
            total_owners,
            TWO_THIRDS_OR_MORE,
        ),
        _condition(
            "agree_area",
            "decision",
            "同意面积/参与表决面积",
            "agreeing area / participating area",
            agreeing_area,
            participating_area,
            decision,
        ),
        _condition(
            "agree_owners",
            "decision",
            "同意人数/参与表决人数",
            "agreeing owners / participating owners",
            agreeing_owners,
            participating_owners,
            decision,
        ),
    )
    quorum_met = conditions[0].met and conditions[1].met
    passed = quorum_met and conditions[2].met and conditions[3].met
    text = _owner_rule_text(matter)
    area_ratio, owners_ratio = conditions[0].ratio, conditions[1].ratio
    assert area_ratio is not None and owners_ratio is not None  # totals are > 0
    return OwnerVoteOutcome(
        matter=matter,
        quorum_met=quorum_met,
        passed=passed,
        rule=text.id,
        rule_description_zh=text.zh,
        rule_description_en=text.en,
        total_area=total_area,
        participating_area=participating_area,
        agreeing_area=agreeing_area,
        total_owners=total_owners,
        participating_owners=participating_owners,
        agreeing_owners=agreeing_owners,
        participating_area_ratio=area_ratio,
        participating_owners_ratio=owners_ratio,
        agreeing_area_ratio=conditions[2].ratio,
        agreeing_owners_ratio=conditions[3].ratio,
        conditions=conditions,
    )


# --------------------------------------------------------------- residents' meeting


class MeetingBasis(StrEnum):
    """Who constitutes a residents' meeting (Residents' Committee Law Art. 9)."""

    ADULTS = "adults"  # 全体十八周岁以上的居民
    HOUSEHOLDS = "households"  # 户的代表
    DELEGATES = "delegates"  # 居民小组选举的代表

    @property
    def label_zh(self) -> str:
        return {
            "adults": "十八周岁以上的居民",
            "households": "户的代表",
            "delegates": "居民小组选举的代表",
        }[self.value]

    @property
    def label_en(self) -> str:
        return {
            "adults": "adult residents",
            "households": "household representatives",
            "delegates": "residents'-group delegates",
        }[self.value]


RESIDENTS_MEETING_RULE = "urc_art9_majority"


@dataclass(frozen=True)
class ResidentsMeetingOutcome(_OutcomeMixin):
    """Result of a residents' meeting (居民会议), Residents' Committee Law Art. 9.

    ``quorum_met``: more than half of the eligible (per ``basis``) were present;
    ``passed``: quorum met and more than half of those present agreed.
    """

    basis: MeetingBasis
    quorum_met: bool
    passed: bool
    rule: str
    rule_description_zh: str
    rule_description_en: str
    eligible: int
    present: int
    agreeing: int
    attendance_ratio: Fraction
    agreeing_ratio: Fraction | None
    conditions: tuple[Condition, ...]


def tally_residents_meeting(
    eligible: int,
    present: int,
    agreeing: int,
    basis: MeetingBasis | str = MeetingBasis.ADULTS,
) -> ResidentsMeetingOutcome:
    """Tally a residents' meeting under Residents' Committee Law Art. 9.

    ``eligible`` is the number of adult residents, households or delegates
    (according to ``basis``); ``present`` how many of them attended; ``agreeing``
    how many of those present voted for the motion.

    Raises :class:`TallyInputError` if ``eligible`` is zero, a count is negative,
    ``present > eligible`` or ``agreeing > present``.
    """
    try:
        basis = MeetingBasis(basis)
    except ValueError:
        raise TallyInputError(f"unknown meeting basis {basis!r}") from None
    _check_count(eligible, "eligible")
    _check_count(present, "present")
    _check_count(agreeing, "agreeing")
    if eligible == 0:
        raise TallyInputError("eligible must be positive")
    if present > eligible:
        raise TallyInputError(f"present ({present}) exceeds eligible ({eligible})")
    if agreeing > present:
        raise TallyInputError(f"agreeing ({agreeing}) exceeds present ({present})")
    conditions = (
        _condition(
            "attendance",
            "quorum",
            f"出席的{basis.label_zh}/全体{basis.label_zh}",
            f"{basis.label_en} present / all {basis.label_en}",
            present,
            eligible,
            MORE_THAN_HALF,
        ),
        _condition(
            "decision",
            "decision",
            "同意人数/出席人数",
            "agreeing / present",
            agreeing,
            present,
            MORE_THAN_HALF,
        ),
    )
    quorum_met = conditions[0].met
    attendance_ratio = conditions[0].ratio
    assert attendance_ratio is not None
    return ResidentsMeetingOutcome(
        basis=basis,
        quorum_met=quorum_met,
        passed=quorum_met and conditions[1].met,
        rule=RESIDENTS_MEETING_RULE,
        rule_description_zh=(
            f"《城市居民委员会组织法》第九条：{basis.label_zh}过半数出席方可举行，会议的决定由出席人的过半数通过"
        ),
        rule_description_en=(
            "Urban Residents' Committee Organisation Law Art. 9: more than half of the "
            f"{basis.label_en} present; decided by more than half of those present"
        ),
        eligible=eligible,
        present=present,
        agreeing=agreeing,
        attendance_ratio=attendance_ratio,
        agreeing_ratio=conditions[1].ratio,
        conditions=conditions,
    )


# -------------------------------------------------------------------- consent polls


class ConsentBase(StrEnum):
    """What the consent threshold is measured against."""

    ELIGIBLE = "eligible"  # all eligible households/persons (absent ones count as "no")
    PARTICIPATING = "participating"  # those who responded


def _as_fraction(value: object, what: str) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Fraction(value)
    raise TallyInputError(f"{what} must be a fractions.Fraction (or int), not {type(value).__name__}")


@dataclass(frozen=True)
class ConsentRule:
    """A district-configured consent threshold.

    Example: "at least 80 % of all households agree" is
    ``ConsentRule(threshold=Fraction(4, 5), inclusive=True, base="eligible")``.

    ``base="participating"`` measures agreement against those who responded;
    ``min_participation`` (inclusive, of eligible) then guards against a handful
    of responses deciding the matter.  Its :attr:`id` is stable, e.g.
    ``consent_ge_4_5_of_eligible`` or
    ``consent_gt_1_2_of_participating_quorum_ge_1_2``.
    """

    threshold: Fraction
    inclusive: bool = True
    base: ConsentBase | str = ConsentBase.ELIGIBLE
    min_participation: Fraction | None = None

    def __post_init__(self) -> None:
        threshold = _as_fraction(self.threshold, "consent threshold")
        object.__setattr__(self, "threshold", threshold)
        if not isinstance(self.inclusive, bool):
            raise TallyInputError("consent 'inclusive' must be a bool")
        try:
            object.__setattr__(self, "base", ConsentBase(self.base))
        except ValueError:
            raise TallyInputError(f"unknown consent base {self.base!r}") from None
        if not 0 <= threshold <= 1:
            raise TallyInputError(f"consent threshold {threshold} not within [0, 1]")
        if self.inclusive and threshold == 0:
            raise TallyInputError("consent threshold '>= 0' would always pass")
        if not self.inclusive and threshold == 1:
            raise TallyInputError("consent threshold '> 1' could never pass")
        if self.min_participation is not None:
            quorum = _as_fraction(self.min_participation, "min_participation")
            if not 0 < quorum <= 1:
                raise TallyInputError(f"min_participation {quorum} not within (0, 1]")
            object.__setattr__(self, "min_participation", quorum)

    @property
    def bound(self) -> Threshold:
        return Threshold(self.threshold, self.inclusive)

    @property
    def id(self) -> str:
        rule_id = f"consent_{self.bound.slug}_of_{ConsentBase(self.base).value}"
        if self.min_participation is not None:
            rule_id += f"_quorum_{Threshold(self.min_participation, True).slug}"
        return rule_id


@dataclass(frozen=True)
class ConsentOutcome(_OutcomeMixin):
    """Result of a consent poll under a :class:`ConsentRule`.

    ``quorum_met`` is True when the rule has no ``min_participation``.
    """

    quorum_met: bool
    passed: bool
    rule: str
    rule_description_zh: str
    rule_description_en: str
    eligible: int
    participating: int | None
    agreeing: int
    consent_ratio: Fraction | None
    participation_ratio: Fraction | None
    conditions: tuple[Condition, ...]


def tally_consent(
    rule: ConsentRule,
    eligible: int,
    agreeing: int,
    participating: int | None = None,
) -> ConsentOutcome:
    """Tally a consent poll (e.g. "≥ 80 % of households agree").

    ``participating`` (those who responded, yes or no or abstain) is required when
    the rule's base is ``participating`` or it has a ``min_participation``;
    otherwise it is optional and only checked for consistency.

    Raises :class:`TallyInputError` on inconsistent counts.
    """
    if not isinstance(rule, ConsentRule):
        raise TallyInputError(f"expected ConsentRule, got {type(rule).__name__}")
    _check_count(eligible, "eligible")
    _check_count(agreeing, "agreeing")
    if eligible == 0:
        raise TallyInputError("eligible must be positive")
    base = ConsentBase(rule.base)
    if participating is None:
        if base is ConsentBase.PARTICIPATING or rule.min_participation is not None:
            raise TallyInputError("this consent rule needs the number participating")
        if agreeing > eligible:
            raise TallyInputError(f"agreeing ({agreeing}) exceeds eligible ({eligible})")
    else:
        _check_count(participating, "participating")
        if participating > eligible:
            raise TallyInputError(f"participating ({participating}) exceeds eligible ({eligible})")
        if agreeing > participating:
            raise TallyInputError(f"agreeing ({agreeing}) exceeds participating ({participating})")

    conditions: list[Condition] = []
    if rule.min_participation is not None:
        assert participating is not None
        conditions.append(
            _condition(
                "participation",
                "quorum",
                "参与人数/全体人数",
                "participating / all eligible",
                participating,
                eligible,
                Threshold(rule.min_participation, True),
            )
        )
    denominator = eligible if base is ConsentBase.ELIGIBLE else participating
    assert denominator is not None
    base_zh = "全体" if base is ConsentBase.ELIGIBLE else "参与者"
    base_en = "all eligible" if base is ConsentBase.ELIGIBLE else "those participating"
    consent = _condition(
        "consent",
        "decision",
        f"同意人数/{base_zh}人数",
        f"agreeing / {base_en}",
        agreeing,
        denominator,
        rule.bound,
    )
    conditions.append(consent)
    quorum_met = all(c.met for c in conditions if c.kind == "quorum")
    participation_ratio = _ratio(participating, eligible) if participating is not None else None
    frac = f"{rule.threshold.numerator}/{rule.threshold.denominator}"
    if rule.inclusive:
        desc_zh = f"同意人数达到{base_zh}的 {frac} 以上（含本数）"
    else:
        desc_zh = f"同意人数超过{base_zh}的 {frac}（不含本数）"
    desc_en = f"agreeing {rule.bound.describe()} of {base_en}"
    if rule.min_participation is not None:
        q = rule.min_participation
        desc_zh = f"参与人数达到全体的 {q.numerator}/{q.denominator} 以上，且" + desc_zh
        desc_en = f"at least {q.numerator}/{q.denominator} of all eligible take part and " + desc_en
    return ConsentOutcome(
        quorum_met=quorum_met,
        passed=quorum_met and consent.met,
        rule=rule.id,
        rule_description_zh="区级同意门槛：" + desc_zh,
        rule_description_en="District consent threshold: " + desc_en,
        eligible=eligible,
        participating=participating,
        agreeing=agreeing,
        consent_ratio=consent.ratio,
        participation_ratio=participation_ratio,
        conditions=tuple(conditions),
    )
