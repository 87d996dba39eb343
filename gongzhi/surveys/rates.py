"""The three rates — 知晓率 (awareness), 参与率 (participation), 满意率 (satisfaction) — that anyone can recompute.

No official formula exists for these figures, so Gongzhi defines them here, once, and the pages, the API, the
data files and ``python -m gongzhi.surveys.rates FILE`` all run this very module (standard library only, no
Django), so a published figure can be checked by anyone from its data file.

Definitions
===========

知晓率 awareness
    households answering that they know of the project ÷ households that answered that question.
参与率 participation
    households in scope with at least one participation record of the project (an opinion in 一征, a meeting, a
    ballot, an order, a supervision act, a survey response) ÷ **all** households in scope.
满意率 satisfaction
    households whose rating is at or above the "satisfied" level (``satisfied_from``, default 4 of 5: 非常满意,
    满意) ÷ households that gave a rating (不了解 / 不适用 are recorded as no rating).
回复率 response
    responding households ÷ households in scope.

Awareness and satisfaction come with the 95 % Wilson score interval (z = 1.96) when they come from a sample.
When every household in scope responded the survey is a census: both bounds equal the rate.  "Target met" is
judged on the interval's lower bound for awareness and satisfaction (on the rate itself for a census) and on the
rate for participation; it is false when the denominator is 0.  Targets are compared with the exact bound, not
with its rounded display.

Arithmetic
==========

Rates are exact fractions, rounded for display only (four places, half to even, from integers).  The Wilson
bounds need a square root: they are computed with :mod:`decimal` at 60 significant digits and then rounded; the
target comparison squares instead and stays exact (:func:`wilson_lower_at_least`).

Input (JSON)::

    {"households": ["h1", ...],
     "responses": [{"household": "h1", "aware": true|false|null, "satisfaction": 1|2|3|4|5|null}],
     "participants": ["h1", ...], "satisfied_from": 4, "target": "0.92"}

Malformed input raises :class:`RatesInputError`; the command prints its message on stderr and exits 2.
"""

from __future__ import annotations

import decimal
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from gongzhi.core.jsonfile import decode_json

__all__ = [
    "DEFAULT_SATISFIED_FROM",
    "DEFAULT_TARGET",
    "Z",
    "Figure",
    "RatesInputError",
    "Report",
    "ResponseRow",
    "compute",
    "main",
    "parse",
    "round4",
    "wilson",
    "wilson_lower_at_least",
]

Z = Decimal("1.96")
Z2 = Z * Z  # 3.8416, exact
DEFAULT_SATISFIED_FROM = 4
DEFAULT_TARGET = Decimal("0.92")
_PRECISION = 60
_TARGET_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_TOP_KEYS = {"households", "responses", "participants", "satisfied_from", "target"}
_RESPONSE_KEYS = {"household", "aware", "satisfaction"}


class RatesInputError(ValueError):
    """The input names the problem: which field, which entry, why."""


@dataclass(frozen=True)
class ResponseRow:
    """One household's answers: ``aware`` None and ``satisfaction`` None mean not answered."""

    household: str
    aware: bool | None = None
    satisfaction: int | None = None


@dataclass(frozen=True)
class Figure:
    """One rate with its numerator and denominator; bounds and target verdict where they apply."""

    numerator: int
    denominator: int
    rate: Decimal | None
    low: Decimal | None = None
    high: Decimal | None = None
    target_met: bool | None = None
    interval: bool = False  # whether low/high belong to this figure

    @property
    def fraction(self) -> Fraction | None:
        return Fraction(self.numerator, self.denominator) if self.denominator else None

    @property
    def percent(self) -> str:
        """The rate as a percentage with two places, for display ("92.31%"), or "—"."""
        return "—" if self.rate is None else f"{self.rate * 100:.2f}%"

    def as_json(self) -> dict:
        out: dict = {"numerator": self.numerator, "denominator": self.denominator, "rate": _s(self.rate)}
        if self.interval:
            out["low"] = _s(self.low)
            out["high"] = _s(self.high)
        if self.target_met is not None:
            out["target_met"] = self.target_met
        return out


@dataclass(frozen=True)
class Report:
    """The figures of one scope; :meth:`as_json` is the command's output."""

    households: int
    response: Figure
    awareness: Figure
    participation: Figure
    satisfaction: Figure
    census: bool
    satisfied_from: int = DEFAULT_SATISFIED_FROM
    target: Decimal | None = None
    extra: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "households": self.households,
            "response": self.response.as_json(),
            "awareness": self.awareness.as_json(),
            "participation": self.participation.as_json(),
            "satisfaction": self.satisfaction.as_json(),
        }


def _s(d: Decimal | None) -> str | None:
    return None if d is None else f"{d:.4f}"


def round4(numerator: int, denominator: int) -> Decimal:
    """numerator ÷ denominator to four places, half to even, exactly (integer arithmetic)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    q, r = divmod(numerator * 10000, denominator)
    if 2 * r > denominator or (2 * r == denominator and q % 2 == 1):
        q += 1
    return Decimal(q).scaleb(-4)


def _quantize(d: Decimal) -> Decimal:
    return d.quantize(Decimal("0.0001"), rounding=decimal.ROUND_HALF_EVEN)


def wilson(k: int, n: int) -> tuple[Decimal, Decimal]:
    """The 95 % Wilson score interval of k successes in n, rounded to four places (half to even).

    low, high = (k + z²/2 ∓ z·√(k(n−k)/n + z²/4)) / (n + z²)
    """
    if n <= 0 or not 0 <= k <= n:
        raise ValueError("need 0 <= k <= n and n > 0")
    with decimal.localcontext() as ctx:
        ctx.prec = _PRECISION
        ctx.rounding = decimal.ROUND_HALF_EVEN
        kd, nd = Decimal(k), Decimal(n)
        root = (kd * (nd - kd) / nd + Z2 / 4).sqrt()
        centre = kd + Z2 / 2
        denom = nd + Z2
        low = (centre - Z * root) / denom
        high = (centre + Z * root) / denom
        return _quantize(low), _quantize(high)


def wilson_lower_at_least(k: int, n: int, target: Fraction) -> bool:
    """Whether the Wilson lower bound of k in n is ≥ target, decided exactly (no square root taken).

    low ≥ t  ⇔  k + z²/2 − t(n + z²) ≥ z·√B  with B = k(n−k)/n + z²/4  ⇔  L ≥ 0 and L² ≥ z²·B.
    """
    z2 = Fraction(Z2)
    lhs = k + z2 / 2 - target * (n + z2)
    if lhs < 0:
        return False
    b = Fraction(k * (n - k), n) + z2 / 4
    return lhs * lhs >= z2 * b


def _sample_figure(k: int, n: int, census: bool, target: Fraction | None) -> Figure:
    if n == 0:
        return Figure(k, n, None, None, None, False if target is not None else None, interval=True)
    rate = round4(k, n)
    if census:
        low = high = rate
        met = None if target is None else Fraction(k, n) >= target
    else:
        low, high = wilson(k, n)
        met = None if target is None else wilson_lower_at_least(k, n, target)
    return Figure(k, n, rate, low, high, met, interval=True)


def compute(
    households: Iterable[str],
    responses: Iterable[ResponseRow],
    participants: Iterable[str] = (),
    *,
    satisfied_from: int = DEFAULT_SATISFIED_FROM,
    target: Decimal | None = None,
) -> Report:
    """The figures for one scope.  Inputs are trusted here (the pages build them); :func:`parse` checks files."""
    scope = set(households)
    rows = list(responses)
    n = len(scope)
    responded = {r.household for r in rows if r.household in scope}
    census = n > 0 and len(responded) == n
    aware_answers = [r.aware for r in rows if r.aware is not None]
    ratings = [r.satisfaction for r in rows if r.satisfaction is not None]
    t = None if target is None else Fraction(target)
    participating = {p for p in participants if p in scope}
    if n:
        participation = Figure(
            len(participating),
            n,
            round4(len(participating), n),
            target_met=None if t is None else Fraction(len(participating), n) >= t,
        )
        response = Figure(len(responded), n, round4(len(responded), n))
    else:
        participation = Figure(0, 0, None, target_met=None if t is None else False)
        response = Figure(0, 0, None)
    return Report(
        households=n,
        response=response,
        awareness=_sample_figure(sum(1 for a in aware_answers if a), len(aware_answers), census, t),
        participation=participation,
        satisfaction=_sample_figure(sum(1 for s in ratings if s >= satisfied_from), len(ratings), census, t),
        census=census,
        satisfied_from=satisfied_from,
        target=target,
    )


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _describe(v: object) -> str:
    return json.dumps(v, ensure_ascii=False)[:60]


def parse(data: object) -> dict:
    """Check a decoded JSON document and return :func:`compute`'s keyword arguments, or raise RatesInputError."""
    if not isinstance(data, Mapping):
        raise RatesInputError("the document must be a JSON object")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise RatesInputError(f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(_TOP_KEYS))})")

    if "households" not in data:
        raise RatesInputError("households: missing (list every household in scope)")
    households = data["households"]
    if not isinstance(households, list):
        raise RatesInputError("households: must be a list of strings")
    if not households:
        raise RatesInputError("households: no households (the scope must hold at least one)")
    seen: set[str] = set()
    for i, h in enumerate(households):
        if not isinstance(h, str) or not h:
            raise RatesInputError(f"households[{i}]: must be a non-empty string, got {_describe(h)}")
        if h in seen:
            raise RatesInputError(f"households[{i}]: duplicate household {h!r}")
        seen.add(h)

    responses = data.get("responses", [])
    if not isinstance(responses, list):
        raise RatesInputError("responses: must be a list of objects")
    rows: list[ResponseRow] = []
    answered: set[str] = set()
    for i, r in enumerate(responses):
        where = f"responses[{i}]"
        if not isinstance(r, Mapping):
            raise RatesInputError(f"{where}: must be an object")
        extra = sorted(set(r) - _RESPONSE_KEYS)
        if extra:
            raise RatesInputError(f"{where}: unknown field {extra[0]!r}")
        h = r.get("household")
        if not isinstance(h, str) or not h:
            raise RatesInputError(f"{where}.household: must be a non-empty string, got {_describe(h)}")
        if h not in seen:
            raise RatesInputError(f"{where}.household: {h!r} is not a household in scope")
        if h in answered:
            raise RatesInputError(f"{where}.household: two responses for household {h!r}")
        answered.add(h)
        aware = r.get("aware")
        if aware is not None and not isinstance(aware, bool):
            raise RatesInputError(f"{where}.aware: must be true, false or null, got {_describe(aware)}")
        sat = r.get("satisfaction")
        if sat is not None:
            if not _is_int(sat):
                raise RatesInputError(f"{where}.satisfaction: must be an integer 1–5 or null, got {_describe(sat)}")
            if not 1 <= sat <= 5:
                raise RatesInputError(f"{where}.satisfaction: rating {sat} is outside 1–5")
        rows.append(ResponseRow(h, aware, sat))

    participants = data.get("participants", [])
    if not isinstance(participants, list):
        raise RatesInputError("participants: must be a list of strings")
    for i, p in enumerate(participants):
        if not isinstance(p, str) or not p:
            raise RatesInputError(f"participants[{i}]: must be a non-empty string, got {_describe(p)}")
        if p not in seen:
            raise RatesInputError(f"participants[{i}]: {p!r} is not a household in scope")

    satisfied_from = data.get("satisfied_from", DEFAULT_SATISFIED_FROM)
    if not _is_int(satisfied_from) or not 1 <= satisfied_from <= 5:
        raise RatesInputError(f"satisfied_from: must be an integer 1–5, got {_describe(satisfied_from)}")

    target = data.get("target")
    parsed_target: Decimal | None = None
    if target is not None:
        if not isinstance(target, str) or not _TARGET_RE.match(target):
            raise RatesInputError(f'target: must be a decimal string such as "0.92", got {_describe(target)}')
        parsed_target = Decimal(target)
        if not 0 <= parsed_target <= 1:
            raise RatesInputError(f"target: {target} is not between 0 and 1")

    return {
        "households": list(households),
        "responses": rows,
        "participants": list(participants),
        "satisfied_from": satisfied_from,
        "target": parsed_target,
    }


def load(text: str) -> dict:
    """Decode and check a document (RatesInputError on any problem)."""
    data = decode_json(text, lambda zh, en: RatesInputError(f"not valid JSON: {en}"), parse_float=float)
    return parse(data)


def main(argv: list[str] | None = None) -> int:
    """``python -m gongzhi.surveys.rates FILE`` (``-`` reads standard input)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m gongzhi.surveys.rates FILE", file=sys.stderr)
        return 2
    try:
        if args[0] == "-":
            text = sys.stdin.read()
        else:
            with open(args[0], encoding="utf-8") as fh:
                text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"cannot read {args[0]}: {exc}", file=sys.stderr)
        return 2
    try:
        kwargs = load(text)
    except RatesInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = compute(**kwargs)
    print(json.dumps(report.as_json(), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
