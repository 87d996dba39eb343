"""Reading uploaded workbooks (.xlsx) and CSV files without trusting them.

An .xlsx file is a zip of XML parts. Before openpyxl reads one, `check_xlsx` looks at the zip directory and
the start of each XML part: a cut-off file, a zip bomb (parts that inflate beyond MAX_XML_BYTES), any document
type declaration (the carrier of entity expansion — "billion laughs" — and external entities, XXE), and a
workbook without sheets are refused with a reason. openpyxl then parses with defusedxml (installed), which
refuses entity declarations again, and the sheet's recorded dimension is ignored (`read_rows` resets it): a
header claiming 2 rows does not hide the 60,000 after them.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any
from xml.etree.ElementTree import ParseError

MAX_PARTS = 2000
MAX_XML_BYTES = 400 * 1024 * 1024  # all parts, inflated: a 10 MB upload of real data stays far below
MAX_RATIO = 200  # inflated / compressed size of one part; real sheets compress 10–30 times
PROLOG_BYTES = 4096


class WorkbookError(ValueError):
    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


DAMAGED = ("Excel文件已损坏或不是.xlsx格式", "the Excel file is damaged or not .xlsx")
# What reading a damaged or hostile part can raise, inside openpyxl's lazy reader as well as here.
READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError, OSError, ParseError, TypeError)


def _sheet_part(book: zipfile.ZipFile) -> zipfile.ZipInfo | None:
    sheets = sorted(
        (i for i in book.infolist() if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")),
        key=lambda i: i.filename,
    )
    return sheets[0] if sheets else None


def check_xlsx(data: bytes) -> None:
    """Refuse an .xlsx that is cut off, a zip bomb, declares a DTD/entities, or has no sheet."""
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise WorkbookError(*DAMAGED) from None
    with book:
        parts = book.infolist()
        if len(parts) > MAX_PARTS:
            raise WorkbookError(*DAMAGED)
        total = 0
        for part in parts:
            total += part.file_size
            if part.file_size > MAX_RATIO * max(part.compress_size, 1) + 1_000_000 or total > MAX_XML_BYTES:
                raise WorkbookError(
                    "Excel文件解压后过大，可能是压缩炸弹", "the Excel file inflates too far (a zip bomb?)"
                )
        names = {p.filename for p in parts}
        if "xl/workbook.xml" not in names:
            raise WorkbookError(*DAMAGED)
        for part in parts:
            if not part.filename.endswith((".xml", ".rels")):
                continue
            try:
                with book.open(part) as fh:
                    prolog = fh.read(PROLOG_BYTES)
            except READ_ERRORS:
                raise WorkbookError(*DAMAGED) from None
            if b"<!DOCTYPE" in prolog.upper() or b"<!ENTITY" in prolog.upper():
                raise WorkbookError(
                    "Excel文件含有不允许的XML声明（DOCTYPE/ENTITY）",
                    "the Excel file declares XML entities (not allowed)",
                )
        if _sheet_part(book) is None:
            raise WorkbookError("Excel文件中没有工作表", "the Excel file has no worksheet")


def sheet_row_count(data: bytes) -> int:
    """How many <row> elements the first sheet holds, counted while inflating it in chunks (no XML parsing):
    a measure no header can lie about. 0 when unreadable."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            part = _sheet_part(book)
            if part is None:
                return 0
            count, tail = 0, b""
            with book.open(part) as fh:
                while chunk := fh.read(1 << 20):
                    window = tail + chunk
                    count += window.count(b"<row ") + window.count(b"<row>")
                    tail = window[-5:]
                    count -= tail.count(b"<row ") + tail.count(b"<row>")  # counted again with the next chunk
                count += tail.count(b"<row ") + tail.count(b"<row>")
            return count
    except READ_ERRORS:
        return 0


def read_rows(data: bytes) -> Iterator[tuple[Any, ...]]:
    """The first sheet's rows as value tuples, after check_xlsx; every row in the file, whatever its dimension
    claims. A part that turns out damaged while being read raises WorkbookError."""
    import openpyxl

    check_xlsx(data)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except READ_ERRORS:
        raise WorkbookError(*DAMAGED) from None
    try:
        if not book.worksheets:
            raise WorkbookError("Excel文件中没有工作表", "the Excel file has no worksheet")
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # read to the last row in the file, not to the one the header claims
        try:
            yield from sheet.iter_rows(values_only=True)
        except READ_ERRORS:
            raise WorkbookError(*DAMAGED) from None
    finally:
        book.close()


def read_csv(text: str, delimiter: str) -> Iterator[list[str]]:
    """CSV rows; a field over csv's limit (128 KB) or a malformed quote is a WorkbookError, not a crash."""
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as e:
        raise WorkbookError(
            "CSV格式有误（字段过长或引号不配对）", f"the CSV is malformed (a field too long or an unclosed quote): {e}"
        ) from None
