"""满意率 of the service desk — from the residents' own ratings of closed requests — with the surveys' arithmetic.

No Django import. The figures are those of :mod:`gongzhi.surveys.rates` (its rounding, Wilson interval, census
rule and target verdict), fed with counts the database aggregates, so that the page costs the same at any size
and its data file, read by ``python -m gongzhi.surveys.rates FILE``, gives back the very same numbers:

- the closed requests of the scope and period stand where the survey has households (opaque tokens);
- each request rated after its last closure is a response whose ``satisfaction`` is the rating on the surveys'
  1–5 scale (:data:`SCALE`); the command's 回复率 is then the rating rate (rated ÷ closed) and its 满意率 ours;
- when every closed request was rated the figure is a census: the interval is the rate itself.

The three levels on the 1–5 scale: 满意 5, 基本满意 4, 不满意 1. With the district's ``satisfied_from`` at its
default of 4, 满意率 = (满意 + 基本满意) ÷ rated — how 12345 hotlines count it (the platform's proposal in
docs/domain: "满意率 = (满意 + 基本满意) ÷ orders rated"; no official formula exists). A district that sets 5
counts 满意 alone; 2 or 3 count the same as 4 (不满意 is never "satisfied" unless the level is 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from gongzhi.surveys.rates import Figure, round4, wilson, wilson_lower_at_least

SATISFIED, BASIC, UNSATISFIED = "satisfied", "basic", "unsatisfied"  # ServiceRequest.Satisfaction's values
SCALE = {SATISFIED: 5, BASIC: 4, UNSATISFIED: 1}


def satisfied_levels(satisfied_from: int) -> list[str]:
    """The ratings that count as satisfied at the district's level (1–5 on the surveys' scale)."""
    if not 1 <= satisfied_from <= 5:
        raise ValueError("satisfied_from is 1–5")
    return [level for level, score in SCALE.items() if score >= satisfied_from]


@dataclass(frozen=True)
class Counts:
    """Closed requests of a scope and period, how many of them were rated, and how many satisfied."""

    closed: int = 0
    rated: int = 0
    satisfied: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.satisfied <= self.rated <= self.closed:
            raise ValueError(f"not counts of one set: {self.satisfied} ≤ {self.rated} ≤ {self.closed}")


@dataclass(frozen=True)
class Figures:
    """满意率 (with its interval and target verdict) and the rating rate, as the surveys' Figure."""

    satisfaction: Figure
    rating: Figure
    census: bool


def figures(c: Counts, target: Decimal | None) -> Figures:
    """What ``gongzhi.surveys.rates.compute`` gives for this scope (its 满意率 and its 回复率), from counts alone.

    The same steps as the surveys' sample figure, with the surveys' public functions; a property test checks it
    against ``compute`` on every small case.
    """
    census = c.closed > 0 and c.rated == c.closed
    t = None if target is None else Fraction(target)
    rating = Figure(c.rated, c.closed, round4(c.rated, c.closed)) if c.closed else Figure(0, 0, None)
    k, n = c.satisfied, c.rated
    if n == 0:
        sat = Figure(k, n, None, None, None, False if t is not None else None, interval=True)
    elif census:
        rate = round4(k, n)
        sat = Figure(k, n, rate, rate, rate, None if t is None else Fraction(k, n) >= t, interval=True)
    else:
        low, high = wilson(k, n)
        met = None if t is None else wilson_lower_at_least(k, n, t)
        sat = Figure(k, n, round4(k, n), low, high, met, interval=True)
    return Figures(sat, rating, census)


def data_file(ratings: list[str | None], *, satisfied_from: int, target: Decimal) -> dict:
    """The input of ``python -m gongzhi.surveys.rates``: one opaque token per closed request ("r1", "r2", …),
    a response for each rated one with its rating on the 1–5 scale. Nothing else: no reference, no place,
    no name, no comment. `ratings` holds each closed request's rating, or None where it was not rated."""
    tokens = [f"r{i}" for i in range(1, len(ratings) + 1)]
    return {
        "households": tokens,
        "responses": [
            {"household": tok, "aware": None, "satisfaction": SCALE[r]}
            for tok, r in zip(tokens, ratings, strict=True)
            if r is not None
        ],
        "participants": [],
        "satisfied_from": satisfied_from,
        "target": f"{target:.4f}",
    }
