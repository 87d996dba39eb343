"""Builders for roster files in tests: rows by column key, written as CSV (any encoding) or .xlsx."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

import openpyxl

from gongzhi.core.pii import id_check_digit
from gongzhi.registry.importer import COLUMNS


def resident_id(born: str = "19500302", seq: str = "123", region: str = "410103") -> str:
    """A well-formed (fictitious) resident ID number with the right check digit."""
    first17 = f"{region}{born}{seq}"
    return first17 + id_check_digit(first17)


def row(**cells) -> dict:
    return cells


def table(rows: Iterable[dict], header: list[str] | None = None) -> list[list[str]]:
    keys = [c.key for c in COLUMNS]
    out = [header or [c.zh for c in COLUMNS]]
    out += [[str(r.get(k, "")) for k in keys] for r in rows]
    return out


def csv_bytes(rows: Iterable[dict], encoding: str = "utf-8", header: list[str] | None = None) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(table(rows, header))
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows: Iterable[dict], header: list[str] | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for values in table(rows, header):
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
