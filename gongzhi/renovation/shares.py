"""Residents' cost shares (分摊): ``python -m gongzhi.renovation.shares FILE``.

The one function the platform uses for every renovation bill, :func:`compute_shares`,
and a command that recomputes a published bill from a data file.  Pure Python: no
Django, no database, exact arithmetic (``Fraction``), never floats.

Input
=====

.. code-block:: json

    {"amount": "60000.00", "basis": "floor_area",
     "coefficients": {"3": "0.7", "4": "0.8"}, "cap": "2000.00",
     "households": [{"id": "h1", "area": "89.50", "floor": 3}]}

* ``amount``: the residents' part to share, yuan, ``^[0-9]+(\\.[0-9]{1,2})?$``.
* ``cap``: optional per-household cap (absent or ``null``: none), same form.
* ``basis``: ``household`` (weight 1 each), ``area`` (weight = area) or
  ``floor_area`` (weight = the floor's coefficient × area; 0 for a floor not in
  ``coefficients``, so floors 1–2 of a lift usually pay nothing).
* ``households``: a non-empty list of objects with a unique non-empty string
  ``id``; ``area`` (non-negative decimal string) for the area bases; ``floor``
  (a JSON integer) for ``floor_area``.  ``coefficients`` (floor → non-negative
  decimal string) is required for ``floor_area``.  Unknown keys are ignored.

Rule
====

Each household's exact share is amount × weight ÷ total weight, capped at
``cap``; what the caps cut off is not shifted onto others but reported as
``uncovered``.  The fen total is the sum of the capped exact shares rounded half
up to the fen; each household first gets its share rounded down to the fen, then
the fen left over go one each to the households with the largest remainders,
ties to the one listed first.  So the shares always add up to the total exactly,
and no share ever exceeds the cap (a capped share is whole fen, remainder 0, and
there are never more fen left over than households with a positive remainder).

Output
======

One line of JSON on stdout, exit 0::

    {"shares": {"h1": "1234.56"}, "total": "1234.56", "uncovered": "0.00"}

Malformed input: a message naming the problem on stderr (Chinese, then English),
nothing on stdout, exit 2.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import IO, Any, NoReturn

from gongzhi.core.jsonfile import read_json_file

EXIT_OK = 0
EXIT_MALFORMED = 2

BASES = ("household", "area", "floor_area")

_MONEY_RE = re.compile(r"[0-9]+(?:\.[0-9]{1,2})?")
_DECIMAL_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_NEGATIVE_RE = re.compile(r"-[0-9]+(?:\.[0-9]+)?")
_FLOOR_KEY_RE = re.compile(r"-?[0-9]+")


class SharesInputError(ValueError):
    """Input that cannot be shared; carries a Chinese and an English message."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en

    def message(self) -> str:
        return f"错误：{self.zh} / error: {self.en}"


def _fail(zh: str, en: str) -> NoReturn:
    raise SharesInputError(zh, en)


@dataclass(frozen=True)
class Household:
    """One household to bill: its id, and the area and floor where the basis needs them."""

    id: str
    area: Decimal | None = None
    floor: int | None = None


@dataclass(frozen=True)
class ShareRequest:
    amount: Decimal
    basis: str
    households: tuple[Household, ...]
    cap: Decimal | None = None
    coefficients: Mapping[int, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class ShareResult:
    """Shares in whole fen, in the order the households were listed."""

    shares_fen: dict[str, int]
    total_fen: int
    uncovered_fen: int
    weights: dict[str, Fraction]

    def as_json(self) -> dict[str, Any]:
        return {
            "shares": {key: fen_text(value) for key, value in self.shares_fen.items()},
            "total": fen_text(self.total_fen),
            "uncovered": fen_text(self.uncovered_fen),
        }


def fen_text(fen: int) -> str:
    """Whole fen as yuan with two decimals: 123456 → "1234.56"."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def to_fen(yuan: Decimal) -> int:
    """An amount with at most two decimals, in fen (exact)."""
    value = Fraction(yuan) * 100
    if value.denominator != 1:
        raise ValueError(f"{yuan} has more than two decimals")
    return value.numerator


def _weight(household: Household, basis: str, coefficients: Mapping[int, Decimal]) -> Fraction:
    if basis == "household":
        return Fraction(1)
    if household.area is None:
        _fail(f"住户 {household.id} 缺少面积", f"household {household.id}: missing area")
    if basis == "area":
        return Fraction(household.area)
    if household.floor is None:
        _fail(f"住户 {household.id} 缺少楼层", f"household {household.id}: missing floor")
    coefficient = coefficients.get(household.floor)
    return Fraction(0) if coefficient is None else Fraction(coefficient) * Fraction(household.area)


def compute_shares(request: ShareRequest) -> ShareResult:
    """Share ``request.amount`` among the households, exactly as the module docstring says."""
    if request.basis not in BASES:
        _fail(f"未知的分摊方式 {request.basis!r}", f"unknown basis {request.basis!r}")
    if not request.households:
        _fail("住户列表为空", "no households")
    if request.amount < 0:
        _fail("分摊金额 amount 不能为负", "amount is negative")
    if request.cap is not None and request.cap < 0:
        _fail("每户上限 cap 不能为负", "cap is negative")
    for name, value in (("amount", request.amount), ("cap", request.cap)):
        if value is not None and (Fraction(value) * 100).denominator != 1:
            _fail(f"{name} 最多两位小数", f"{name} has more than two decimals")
    seen: set[str] = set()
    for household in request.households:
        if household.id in seen:
            _fail(f"住户 id {household.id} 重复", f"duplicate household id {household.id}")
        seen.add(household.id)
    weights = [_weight(h, request.basis, request.coefficients) for h in request.households]
    if any(w < 0 for w in weights):
        _fail("权重不能为负", "a weight is negative")
    # Integer arithmetic on a common denominator (exactly the same numbers as with Fractions, much faster):
    # scale the weights to integers, then household i's exact share in fen is amount_fen × w_i / W.
    scale = math.lcm(*(w.denominator for w in weights))
    int_weights = [w.numerator * (scale // w.denominator) for w in weights]
    big_w = sum(int_weights)
    if big_w == 0:
        _fail("总权重为零，无法分摊", "total weight is zero")
    amount_fen = to_fen(request.amount)
    cap_num = None if request.cap is None else to_fen(request.cap) * big_w
    numerators = []  # exact capped share in fen = numerator / big_w
    for w in int_weights:
        num = amount_fen * w
        if cap_num is not None and num > cap_num:
            num = cap_num
        numerators.append(num)
    # Half up: floor(x + 1/2) = floor((2·Σnum + W) / 2W).
    total_fen = (2 * sum(numerators) + big_w) // (2 * big_w)
    fen = [num // big_w for num in numerators]
    remainders = [num % big_w for num in numerators]
    left_over = total_fen - sum(fen)
    # Largest remainder first; ties to the household listed first (stable on index).
    order = sorted(range(len(fen)), key=lambda i: (-remainders[i], i))
    for i in order[:left_over]:
        fen[i] += 1
    ids = [h.id for h in request.households]
    return ShareResult(
        shares_fen=dict(zip(ids, fen, strict=True)),
        total_fen=total_fen,
        uncovered_fen=to_fen(request.amount) - total_fen,
        weights=dict(zip(ids, weights, strict=True)),
    )


# --- the JSON document -------------------------------------------------------------------------


def _short(value: object, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load_document(path: str) -> Any:
    """Read and decode the JSON file, raising :class:`SharesInputError` on failure."""
    return read_json_file(path, SharesInputError)


def parse_money(value: object, name: str) -> Decimal:
    """``amount`` or ``cap``: a decimal string, non-negative, at most two decimals."""
    if not isinstance(value, str):
        _fail(
            f'{name} 必须是十进制数字字符串（如 "60000.00"），而不是 {_short(value)}',
            f'{name} must be a decimal string such as "60000.00", not {_short(value)}',
        )
    if _MONEY_RE.fullmatch(value):
        return Decimal(value)
    if _NEGATIVE_RE.fullmatch(value):
        _fail(f"{name} 不能为负（{_short(value)}）", f"{name} is negative ({_short(value)})")
    if _DECIMAL_RE.fullmatch(value):
        _fail(
            f"{name} 最多两位小数（{_short(value)}）",
            f"{name} has more than two decimals ({_short(value)})",
        )
    _fail(f"{name} 不是十进制数（{_short(value)}）", f"{name} is not a decimal ({_short(value)})")


def _parse_decimal(value: object, zh: str, en: str) -> Decimal:
    if isinstance(value, str) and _DECIMAL_RE.fullmatch(value):
        return Decimal(value)
    _fail(
        f"{zh}必须是非负十进制数字字符串（{_short(value)}）",
        f"{en} must be a non-negative decimal string ({_short(value)})",
    )


def parse_request(document: Any) -> ShareRequest:
    """Validate the decoded JSON document and build the request."""
    if not isinstance(document, dict):
        _fail("顶层必须是 JSON 对象", "top level must be a JSON object")
    if "amount" not in document:
        _fail("缺少分摊金额 amount", "missing amount")
    amount = parse_money(document["amount"], "amount")
    cap_raw = document.get("cap")
    cap = None if cap_raw is None else parse_money(cap_raw, "cap")

    basis = document.get("basis")
    if basis not in BASES:
        _fail(
            f"未知的分摊方式 basis {_short(basis)}（应为 household、area 或 floor_area）",
            f"unknown basis {_short(basis)} (expected household, area or floor_area)",
        )

    coefficients: dict[int, Decimal] = {}
    if basis == "floor_area":
        raw = document.get("coefficients")
        if not isinstance(raw, dict):
            _fail(
                "按楼层系数分摊时 coefficients 必须是对象（楼层 → 系数）",
                "coefficients must be an object (floor → coefficient) for basis floor_area",
            )
        for key, value in raw.items():
            if not _FLOOR_KEY_RE.fullmatch(key):
                _fail(f"楼层系数的楼层 {_short(key)} 不是整数", f"coefficients: floor {_short(key)} is not an integer")
            level = int(key)
            if level in coefficients:
                _fail(f"楼层系数中楼层 {level} 重复", f"coefficients: floor {level} listed twice")
            coefficients[level] = _parse_decimal(value, f"第 {level} 层的系数", f"coefficient of floor {level}")

    raw_households = document.get("households")
    if not isinstance(raw_households, list):
        _fail("households 必须是数组", "households must be an array")
    if not raw_households:
        _fail("住户列表 households 为空", "no households")
    households: list[Household] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_households, start=1):
        if not isinstance(raw, dict):
            _fail(f"第 {index} 户不是 JSON 对象", f"household #{index} is not a JSON object")
        hid = raw.get("id")
        if not isinstance(hid, str) or not hid:
            _fail(
                f"第 {index} 户的 id 必须是非空字符串（{_short(hid)}）",
                f"household #{index}: id must be a non-empty string ({_short(hid)})",
            )
        who_zh, who_en = f"第 {index} 户（id={_short(hid)}）", f"household #{index} (id={_short(hid)})"
        if hid in seen:
            _fail(f"{who_zh}的 id 重复", f"{who_en}: duplicate id")
        seen.add(hid)
        area: Decimal | None = None
        floor: int | None = None
        if basis in ("area", "floor_area"):
            if "area" not in raw:
                _fail(f"{who_zh}缺少面积 area", f"{who_en}: missing area")
            area = _parse_decimal(raw["area"], f"{who_zh}的面积 area ", f"{who_en}: area")
        if basis == "floor_area":
            if "floor" not in raw:
                _fail(f"{who_zh}缺少楼层 floor", f"{who_en}: missing floor")
            floor = raw["floor"]
            if type(floor) is not int:
                _fail(
                    f"{who_zh}的楼层 floor 必须是 JSON 整数（{_short(floor)}）",
                    f"{who_en}: floor must be a JSON integer ({_short(floor)})",
                )
        households.append(Household(id=hid, area=area, floor=floor))
    return ShareRequest(amount=amount, basis=basis, households=tuple(households), cap=cap, coefficients=coefficients)


def shares_from_file(path: str) -> dict[str, Any]:
    """Load, validate and share ``path``; raise :class:`SharesInputError` if invalid."""
    return compute_shares(parse_request(load_document(path))).as_json()


def _write_error(stream: IO[str], message: str) -> None:
    """Write ``message`` as UTF-8 whatever the locale; never raise."""
    with contextlib.suppress(Exception):
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            stream.flush()
            buffer.write((message + "\n").encode("utf-8"))
            buffer.flush()
        else:
            stream.write(message + "\n")
            stream.flush()


def main(
    argv: Sequence[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Run the command; return the exit status (0 ok, 2 malformed input)."""
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        _write_error(
            err, "用法：python -m gongzhi.renovation.shares 文件\nusage: python -m gongzhi.renovation.shares FILE"
        )
        return EXIT_MALFORMED
    try:
        line = json.dumps(shares_from_file(args[0]), ensure_ascii=False)
    except SharesInputError as exc:
        _write_error(err, exc.message())
        return EXIT_MALFORMED
    except Exception as exc:  # noqa: BLE001 - contract: never a traceback, never exit 1
        _write_error(err, f"错误：无法处理输入（{type(exc).__name__}） / error: cannot process input ({exc})")
        return EXIT_MALFORMED
    try:
        out.write(line + "\n")
        out.flush()
    except Exception as exc:  # noqa: BLE001 - e.g. stdout closed
        _write_error(err, f"错误：无法写出结果 / error: cannot write output: {exc}")
        return EXIT_MALFORMED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
