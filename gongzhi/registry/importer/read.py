"""Layer 1, reading: a file's bytes to rows of cell values (xlsx via openpyxl read-only; CSV in UTF-8 or GB18030)."""

from __future__ import annotations

from typing import Any

from gongzhi.core import workbooks
from gongzhi.registry.importer.formats import MAX_BYTES, MAX_ROWS, RosterFileError

# --- Reading the file ----------------------------------------------------------------------------------


def sniff_format(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterFileError(
            "不支持旧版 .xls 文件，请在Excel中另存为 .xlsx 或 CSV",
            "old .xls files are not supported: save as .xlsx or CSV in Excel",
        )
    return "csv"


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (the default of Chinese Excel)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterFileError(
        "无法识别文件编码，请保存为UTF-8或GB18030编码的CSV", "unknown text encoding: save the CSV as UTF-8 or GB18030"
    )


def read_table(data: bytes) -> list[tuple[int, list[Any]]]:
    """(spreadsheet row number, cell values) for every row of the first sheet, empty rows left out."""
    if not data:
        raise RosterFileError("文件为空", "the file is empty")
    if len(data) > MAX_BYTES:
        raise RosterFileError("文件超过10MB上限", "the file is larger than the 10 MB limit")
    rows: list[tuple[int, list[Any]]] = []
    try:
        if sniff_format(data) == "xlsx":
            source = workbooks.read_rows(data)  # checked first: no entities, no zip bomb, every row read
        else:
            text = decode_csv(data)
            if "\x00" in text:
                raise RosterFileError(
                    "文件类型不允许：只接受 .xlsx 或 .csv", "file type not allowed: .xlsx or .csv only"
                )
            first = text.split("\n", 1)[0]
            source = workbooks.read_csv(text, max(",\t;", key=first.count))
        for number, values in enumerate(source, start=1):
            if any(v not in (None, "") and not (isinstance(v, str) and not v.strip()) for v in values):
                rows.append((number, list(values)))
                if len(rows) > MAX_ROWS + 1:
                    break
    except workbooks.WorkbookError as e:
        raise RosterFileError(e.zh, e.en) from None
    if not rows:
        raise RosterFileError("文件中没有数据", "the file has no rows")
    if len(rows) > MAX_ROWS + 1:
        raise RosterFileError(f"一次最多导入{MAX_ROWS}行，请拆分文件", f"at most {MAX_ROWS} rows per file: split it")
    return rows


def estimate_rows(data: bytes) -> int:
    """Roughly how many rows the file holds, without reading it (to decide whether to check it in the background).

    CSV: its line breaks. xlsx: the <row> elements of its first sheet, counted while inflating it.
    """
    try:
        if sniff_format(data) != "xlsx":
            return data.count(b"\n")
    except RosterFileError:
        return 0
    try:
        workbooks.check_xlsx(data)
    except workbooks.WorkbookError:
        return 0  # unreadable: the check itself says why, quickly
    # Not the sheet's recorded dimension: it can lie (a header claiming 2 rows over 60,000).
    return workbooks.sheet_row_count(data)
