"""Offline recount of an owners' vote: ``python -m gongzhi.voting.recount FILE``.

Reads a JSON file describing one owners' vote under Civil Code Art. 278, tallies
it with :func:`gongzhi.voting.tally.tally_owner_vote` (the function the platform
uses) and prints exactly one line of JSON.  Needs neither Django nor a database.

Input
=====

.. code-block:: json

    {"matter": "covenant",
     "owners": [
       {"id": "o1", "developer": false, "choice": "yes",
        "units": [{"id": "u17", "area": "89.50"}]},
       {"id": "dev", "developer": true, "choice": null,
        "units": [{"id": "u1", "area": "120"}, {"id": "u2", "area": "75.25"}]}
     ]}

* ``matter``: one of the nine keys of :class:`~gongzhi.voting.tally.Matter`.
* Each owner entry is one head, already merged per SPC Interpretation Art. 9.
* ``developer``: a JSON boolean; **optional, defaults to false** when absent.
  At most one entry may be ``true``.
* ``choice``: **required**; ``"yes"``, ``"no"``, ``"abstain"`` or ``null``
  (did not vote).
* ``units``: a non-empty list of ``{"id": str, "area": str}``; ``area`` is a
  decimal *string* matching ``[0-9]+(\\.[0-9]+)?`` (ASCII digits only); JSON
  numbers are rejected.  Unit ids must be unique across the whole file.
* Unknown extra keys are ignored.  Duplicate keys within one JSON object,
  ``NaN``/``Infinity`` literals and invalid UTF-8 are rejected.

Output
======

On success (exit 0) one JSON line with the keys ``quorum_met``, ``passed``,
``rule``, ``total_area``, ``participating_area``, ``agreeing_area`` (decimal
strings in plain notation, exact), ``total_owners``, ``participating_owners``,
``agreeing_owners`` (ints), plus the extra keys ``matter`` and the four exact
ratios ``participating_area_ratio``, ``participating_owners_ratio``,
``agreeing_area_ratio``, ``agreeing_owners_ratio`` as ``"num/den"`` strings
(``null`` when undefined because nobody took part).

On malformed input: a message on stderr (Chinese, then English), nothing on
stdout, exit 2.  The command never exits 1 or prints a traceback.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import IO, Any, NoReturn

from gongzhi.core.jsonfile import read_json_file
from gongzhi.voting.tally import (
    Choice,
    Head,
    Matter,
    OwnerVoteOutcome,
    TallyInputError,
    exact_sum,
    tally_owner_vote,
)

EXIT_OK = 0
EXIT_MALFORMED = 2

_AREA_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_CHOICES = {"yes": Choice.YES, "no": Choice.NO, "abstain": Choice.ABSTAIN}
_MATTER_VALUES = frozenset(m.value for m in Matter)
_MATTER_KEYS = ", ".join(m.value for m in Matter)


class MalformedInput(Exception):
    """Input that cannot be recounted; carries a Chinese and an English message."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en

    def message(self) -> str:
        return f"错误：{self.zh} / error: {self.en}"


def _fail(zh: str, en: str) -> NoReturn:
    raise MalformedInput(zh, en)


def _short(value: object, limit: int = 40) -> str:
    """A bounded, single-line rendering of a JSON value for error messages."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(identifier: str) -> str:
    """An id as shown in messages: verbatim if short and printable, else quoted."""
    if identifier.isprintable() and len(identifier) <= 40:
        return identifier
    return _short(identifier)


def _type_name(value: object) -> str:
    """The JSON type of a decoded value, with an article ("an array")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _type_zh(value: object) -> str:
    """The JSON type of a decoded value, in Chinese."""
    return {
        "null": "null",
        "a boolean": "布尔值",
        "a number": "数字",
        "a string": "字符串",
        "an array": "数组",
        "an object": "对象",
    }[_type_name(value)]


def load_document(path: str) -> Any:
    """Read and decode the JSON file, raising :class:`MalformedInput` on failure."""
    # Numbers are decoded as Decimal: no float rounding, no int-size limit.
    # (No field accepts a number, but ignored extra keys may contain any.)
    return read_json_file(path, MalformedInput, parse_int=Decimal)


def _parse_area(value: object, where_zh: str, where_en: str) -> Decimal:
    if not isinstance(value, str):
        _fail(
            f"{where_zh}面积必须是十进制数字字符串，而不是{_type_zh(value)}（{_short(value)}）",
            f"{where_en}: area must be a decimal string, not {_type_name(value)} ({_short(value)})",
        )
    if not _AREA_RE.fullmatch(value):
        _fail(
            f'{where_zh}面积 {_short(value)} 无效（应为非负十进制数，如 "89.50"）',
            f'{where_en}: invalid area {_short(value)} (expected a non-negative decimal such as "89.50")',
        )
    return Decimal(value)


def parse_heads(document: Any) -> tuple[Matter, list[Head]]:
    """Validate the decoded JSON document and build the heads to tally."""
    if not isinstance(document, dict):
        _fail(
            f"顶层必须是 JSON 对象，而不是{_type_zh(document)}",
            f"top level must be a JSON object, not {_type_name(document)}",
        )
    if "matter" not in document:
        _fail("缺少表决事项 matter", "missing matter")
    matter_raw = document["matter"]
    if not isinstance(matter_raw, str) or matter_raw not in _MATTER_VALUES:
        _fail(
            f"未知的表决事项 {_short(matter_raw)}（应为 {_MATTER_KEYS} 之一）",
            f"unknown matter {_short(matter_raw)} (expected one of {_MATTER_KEYS})",
        )
    matter = Matter(matter_raw)

    if "owners" not in document:
        _fail("缺少业主列表 owners", "missing owners")
    owners = document["owners"]
    if not isinstance(owners, list):
        _fail(
            f"owners 必须是数组，而不是{_type_zh(owners)}",
            f"owners must be an array, not {_type_name(owners)}",
        )
    if not owners:
        _fail("业主列表 owners 为空", "owners list is empty")

    heads: list[Head] = []
    owner_ids: set[str] = set()
    unit_owner: dict[str, str] = {}
    developer_id: str | None = None
    for index, owner in enumerate(owners, start=1):
        if not isinstance(owner, dict):
            _fail(
                f"第 {index} 个业主不是 JSON 对象",
                f"owner #{index} is not a JSON object",
            )
        if "id" not in owner:
            _fail(f"第 {index} 个业主缺少 id", f"owner #{index}: missing id")
        owner_id = owner["id"]
        if not isinstance(owner_id, str) or not owner_id:
            _fail(
                f"第 {index} 个业主的 id 必须是非空字符串（{_short(owner_id)}）",
                f"owner #{index}: id must be a non-empty string ({_short(owner_id)})",
            )
        who_zh = f"第 {index} 个业主（id={_label(owner_id)}）"
        who_en = f"owner #{index} (id={_label(owner_id)})"
        if owner_id in owner_ids:
            _fail(f"{who_zh}的 id 重复", f"{who_en}: duplicate owner id")
        owner_ids.add(owner_id)

        developer = owner.get("developer", False)
        if not isinstance(developer, bool):
            _fail(
                f"{who_zh}的 developer 必须是布尔值（{_short(developer)}）",
                f"{who_en}: developer must be a boolean ({_short(developer)})",
            )
        if developer:
            if developer_id is not None:
                _fail(
                    f"{who_zh}：建设单位只能有一个条目（已有 id={_label(developer_id)}）",
                    f"{who_en}: more than one developer entry (already have id={_label(developer_id)})",
                )
            developer_id = owner_id

        if "choice" not in owner:
            _fail(f"{who_zh}缺少 choice", f"{who_en}: missing choice")
        choice_raw = owner["choice"]
        if choice_raw is None:
            choice = None
        elif isinstance(choice_raw, str) and choice_raw in _CHOICES:
            choice = _CHOICES[choice_raw]
        else:
            _fail(
                f'{who_zh}的 choice {_short(choice_raw)} 无效（应为 "yes"、"no"、"abstain" 或 null）',
                f'{who_en}: invalid choice {_short(choice_raw)} (expected "yes", "no", "abstain" or null)',
            )

        if "units" not in owner:
            _fail(f"{who_zh}缺少 units", f"{who_en}: missing units")
        units = owner["units"]
        if not isinstance(units, list):
            _fail(
                f"{who_zh}的 units 必须是数组",
                f"{who_en}: units must be an array, not {_type_name(units)}",
            )
        if not units:
            _fail(f"{who_zh}没有房屋（units 为空）", f"{who_en}: units list is empty")

        areas: list[Decimal] = []
        unit_ids: list[str] = []
        for u_index, unit in enumerate(units, start=1):
            if not isinstance(unit, dict):
                _fail(
                    f"{who_zh}的第 {u_index} 个房屋不是 JSON 对象",
                    f"{who_en} unit #{u_index}: not a JSON object",
                )
            if "id" not in unit:
                _fail(
                    f"{who_zh}的第 {u_index} 个房屋缺少 id",
                    f"{who_en} unit #{u_index}: missing unit id",
                )
            unit_id = unit["id"]
            if not isinstance(unit_id, str) or not unit_id:
                _fail(
                    f"{who_zh}的第 {u_index} 个房屋的 id 必须是非空字符串（{_short(unit_id)}）",
                    f"{who_en} unit #{u_index}: unit id must be a non-empty string ({_short(unit_id)})",
                )
            where_zh = f"{who_zh}的房屋（id={_label(unit_id)}）"
            where_en = f"{who_en} unit {_label(unit_id)}"
            if unit_id in unit_owner:
                _fail(
                    f"{where_zh}重复出现（已列于业主 id={_label(unit_owner[unit_id])}）",
                    f"{where_en}: unit listed twice (already under owner id={_label(unit_owner[unit_id])})",
                )
            unit_owner[unit_id] = owner_id
            if "area" not in unit:
                _fail(f"{where_zh}缺少面积", f"{where_en}: missing area")
            areas.append(_parse_area(unit["area"], where_zh, where_en))
            unit_ids.append(unit_id)

        heads.append(
            Head(
                id=owner_id,
                developer=developer,
                choice=choice,
                area=exact_sum(areas),
                unit_ids=tuple(unit_ids),
            )
        )
    return matter, heads


def plain(value: Decimal) -> str:
    """Plain (never exponent) notation that keeps the exact value and scale."""
    return format(value, "f")


def _ratio_text(value: Fraction | None) -> str | None:
    return None if value is None else f"{value.numerator}/{value.denominator}"


def outcome_json(outcome: OwnerVoteOutcome) -> dict[str, Any]:
    """The output object (required keys first, then extras)."""
    return {
        "quorum_met": outcome.quorum_met,
        "passed": outcome.passed,
        "rule": outcome.rule,
        "total_area": plain(outcome.total_area),
        "participating_area": plain(outcome.participating_area),
        "agreeing_area": plain(outcome.agreeing_area),
        "total_owners": outcome.total_owners,
        "participating_owners": outcome.participating_owners,
        "agreeing_owners": outcome.agreeing_owners,
        "matter": outcome.matter.value,
        "participating_area_ratio": _ratio_text(outcome.participating_area_ratio),
        "participating_owners_ratio": _ratio_text(outcome.participating_owners_ratio),
        "agreeing_area_ratio": _ratio_text(outcome.agreeing_area_ratio),
        "agreeing_owners_ratio": _ratio_text(outcome.agreeing_owners_ratio),
    }


def recount(path: str) -> dict[str, Any]:
    """Load, validate and tally ``path``; raise :class:`MalformedInput` if invalid."""
    matter, heads = parse_heads(load_document(path))
    if exact_sum(h.area for h in heads) == 0:
        _fail("专有部分总面积为零", "total exclusive area is zero")
    try:
        outcome = tally_owner_vote(matter, heads)
    except TallyInputError as exc:  # defensive: parse_heads checks everything
        _fail(f"输入无效：{exc}", f"invalid input: {exc}")
    return outcome_json(outcome)


def _write_error(stream: IO[str], message: str) -> None:
    """Write ``message`` as UTF-8 whatever the locale; never raise."""
    # Nothing sensible is left to do if stderr itself is broken.
    with contextlib.suppress(Exception):
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            stream.flush()
            buffer.write((message + "\n").encode("utf-8"))
            buffer.flush()
        else:
            stream.write(message + "\n")
            stream.flush()


USAGE_ZH = "用法：python -m gongzhi.voting.recount 文件"
USAGE_EN = "usage: python -m gongzhi.voting.recount FILE"


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
        _write_error(err, f"{USAGE_ZH}\n{USAGE_EN}")
        return EXIT_MALFORMED
    try:
        result = recount(args[0])
        line = json.dumps(result, ensure_ascii=False, allow_nan=False)
    except MalformedInput as exc:
        _write_error(err, exc.message())
        return EXIT_MALFORMED
    except BaseException as exc:  # noqa: BLE001 - contract: never a traceback/exit 1
        if isinstance(exc, KeyboardInterrupt):
            _write_error(err, "错误：已中断 / error: interrupted")
        else:
            _write_error(
                err,
                f"错误：无法处理输入（{type(exc).__name__}） / "
                f"error: cannot process input ({type(exc).__name__}: {exc})",
            )
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
