"""Pure rules of the renovation part (no Django): consent thresholds, the progress roll-up, money rounding.

Exact arithmetic only (`Fraction`, `Decimal`), never floats.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction


@dataclass(frozen=True)
class ConsentRule:
    """ "At least num/den of the households of the scope agree" (inclusive, 以上) or "more than" (exclusive)."""

    numerator: int
    denominator: int
    inclusive: bool = True

    def __post_init__(self) -> None:
        if not (0 < self.numerator <= self.denominator):
            raise ValueError("a consent threshold is a fraction in (0, 1]")

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.numerator, self.denominator)

    def describe(self) -> str:
        sign = "≥" if self.inclusive else ">"
        return f"{sign} {self.numerator}/{self.denominator}"


@dataclass(frozen=True)
class ConsentTally:
    households: int
    agreeing: int
    area: Decimal
    agreeing_area: Decimal
    passed: bool
    rule: str

    @property
    def household_ratio(self) -> Fraction | None:
        return Fraction(self.agreeing, self.households) if self.households else None

    @property
    def area_ratio(self) -> Fraction | None:
        return Fraction(self.agreeing_area) / Fraction(self.area) if self.area else None


def consent_tally(
    rule: ConsentRule, *, households: int, agreeing: int, area: Decimal, agreeing_area: Decimal
) -> ConsentTally:
    """Pass or fail a scope against its rule, on households (the area is reported beside it).

    A scope without households never passes (nothing to consent). The comparison is exact: agreeing/households
    against num/den, cross-multiplied.
    """
    if agreeing < 0 or households < 0 or agreeing > households:
        raise ValueError("agreeing households must lie between 0 and the households of the scope")
    if households == 0:
        passed = False
    elif rule.inclusive:
        passed = agreeing * rule.denominator >= rule.numerator * households
    else:
        passed = agreeing * rule.denominator > rule.numerator * households
    return ConsentTally(households, agreeing, area, agreeing_area, passed, rule.describe())


def roll_up(items: Iterable[tuple[Decimal | int, int]]) -> Fraction:
    """Project progress in percent: Σ(budget × progress) / Σ budget — weighted by budget AND normalised.

    Decidim multiplies by weights without dividing by their sum, so a parent can pass 100%; here it never does.
    Items without budget count equally when no item has one (all weights 0). Each progress must lie in 0..100.
    """
    items = list(items)
    if not items:
        return Fraction(0)
    for budget, progress in items:
        if not (0 <= progress <= 100):
            raise ValueError("progress must lie between 0 and 100")
        if budget < 0:
            raise ValueError("a budget is never negative")
    total = sum((Fraction(b) for b, _p in items), Fraction(0))
    if total == 0:
        return Fraction(sum(p for _b, p in items), len(items))
    return sum((Fraction(b) * p for b, p in items), Fraction(0)) / total


def round_fen(value: Fraction | Decimal) -> Decimal:
    """Yuan rounded half up to the fen (value ≥ 0)."""
    fen = math.floor(Fraction(value) * 100 + Fraction(1, 2))
    return Decimal(fen) / 100


def percent_text(value: Fraction | None, places: int = 1) -> str:
    """A fraction of 1 as a percentage rounded half up, e.g. 4/5 → "80.0%"; None → "—"."""
    if value is None:
        return "—"
    scaled = math.floor(value * 100 * 10**places + Fraction(1, 2))
    return f"{Decimal(scaled) / (10**places):.{places}f}%"
