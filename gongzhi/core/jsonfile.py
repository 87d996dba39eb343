"""Read a JSON data file strictly, for the command-line checkers (pure: no Django).

Strict means: UTF-8 (a byte-order mark is allowed), no NaN or Infinity, no key twice in one object, and
fractions decoded as Decimal (never rounded through a float). Every failure is raised as the caller's own
error, made by the ``error`` factory from a Chinese and an English message, so each command keeps its error
type and exit code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

ErrorFactory = Callable[[str, str], Exception]  # (Chinese message, English message) -> the caller's error


class _Refused(Exception):
    """Raised inside the decoder's hooks; turned into the caller's error once json.loads has let go."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"JSON 对象中键 {key!r} 重复", f"duplicate key {key!r} in a JSON object")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise _Refused(f"JSON 中不允许出现 {name}", f"{name} is not allowed in the JSON input")


def read_json_file(path: str, error: ErrorFactory, *, parse_int: Callable[[str], Any] | None = None) -> Any:
    """The decoded document at ``path``; ``error(zh, en)`` is raised on any failure.

    ``parse_int`` decodes integer literals (``Decimal`` where no field takes a number, so a huge one is no
    trouble); by default they are ints.
    """
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise error(f"文件不存在：{path}", f"file not found: {path}") from None
    except IsADirectoryError:
        raise error(f"路径是目录而不是文件：{path}", f"is a directory, not a file: {path}") from None
    except OSError as exc:
        raise error(f"无法读取文件 {path}：{exc.strerror}", f"cannot read file {path}: {exc}") from None
    return decode_json(raw, error, parse_int=parse_int)


def decode_json(
    raw: bytes | str,
    error: ErrorFactory,
    *,
    parse_int: Callable[[str], Any] | None = None,
    parse_float: Callable[[str], Any] = Decimal,
) -> Any:
    """The document in ``raw`` (bytes in UTF-8, or text), decoded as strictly as :func:`read_json_file`."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise error("文件不是有效的 UTF-8 编码", f"file is not valid UTF-8: {exc}") from None
    else:
        text = raw.removeprefix("\ufeff")
    try:
        return json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=parse_float,
            parse_int=parse_int,
            object_pairs_hook=_unique_keys,
        )
    except _Refused as exc:
        raise error(exc.zh, exc.en) from None
    except json.JSONDecodeError as exc:
        raise error(
            f"JSON 格式无效（第 {exc.lineno} 行第 {exc.colno} 列）：{exc.msg}",
            f"invalid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}",
        ) from None
    except RecursionError:
        raise error("JSON 嵌套层数过深", "JSON nesting is too deep") from None
    except ValueError as exc:  # e.g. an integer literal with too many digits
        raise error(f"JSON 无效：{exc}", f"invalid JSON: {exc}") from None
