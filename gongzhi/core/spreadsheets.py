"""Cells of exported spreadsheets that a spreadsheet program will not run as formulas (CSV/formula injection).

CSV: text starting with = + - @, a tab or a carriage return gets a leading apostrophe (OWASP's advice), which
Excel and WPS show as text; our roster importer drops it again. xlsx: text starting with = is written as a cell
of text type (openpyxl would otherwise store it as a formula); other text cells are never run in xlsx.
"""

from __future__ import annotations

from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def unescape(text: str) -> str:
    """What csv_text wrote, read back (the importer's side)."""
    return text[1:] if text[:1] == "'" and text[1:2] and text[1:2] in FORMULA_START else text


def xlsx_cells(sheet, values: list[Any]) -> list:
    """Values for a write-only sheet's append(): text starting with = becomes a cell forced to the text type."""
    from openpyxl.cell import WriteOnlyCell

    out = list(values)
    for i, value in enumerate(out):
        if isinstance(value, str) and value.startswith("="):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            out[i] = cell
    return out
