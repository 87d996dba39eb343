"""花名册导出 — a compound's (or building's) roster as .xlsx or CSV, in the import format, so it re-imports.

Rows are streamed: units are read in key order in chunks with their current owners and residents, and written
to an openpyxl write-only sheet (kept in a temporary file, not in memory) or yielded as CSV lines. Phones and
ID numbers are masked unless the caller may see them unmasked (`registry.view_person_unmasked` and, on the web,
the second factor); an unmasked export is itself recorded in the audit log as a view of personal data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import IO, Any

from django.db.models import Prefetch

from gongzhi.core import audit, pii
from gongzhi.registry import actions
from gongzhi.registry.importer import (
    COLUMNS,
    DEVELOPER_LABEL,
    FORMAT_HELP,
    KIND_LABEL,
    RELATION_LABEL,
    USAGE_LABEL,
)
from gongzhi.registry.models import AreaNode, Ownership, Person, Residence, Unit

CHUNK = 1000
HEADER = [c.zh for c in COLUMNS]
UNMASKED_FIELDS = ["phone", "id_number", "birth_date"]
_FORMULA_START = ("=", "+", "@")  # what a spreadsheet would run as a formula (CSV/formula injection)


def can_export_unmasked(user, node: AreaNode, *, second_factor_passed: bool) -> bool:
    return second_factor_passed and user.has_perm("registry.view_person_unmasked", node)


def _person_cells(person: Person, own: Ownership | None, res: Residence | None, unmasked: bool) -> list[Any]:
    id_number = person.get_id_number() if person.id_number_enc else ""
    owner = own is not None
    return [
        person.name,
        KIND_LABEL.get(person.kind, ""),
        RELATION_LABEL[Residence.Relation.OWNER] if owner else RELATION_LABEL.get(res.relation, ""),
        person.phone if unmasked else pii.mask_phone(person.phone),
        id_number if unmasked else pii.mask_id_number(id_number),
        person.birth_date.isoformat() if unmasked and person.birth_date else "",
        ("是" if own.is_designated_voter else "否") if owner else "",
        DEVELOPER_LABEL.get(own.developer_status, "") if owner else "",
        person.credit_code if person.kind == Person.Kind.LEGAL else "",
        ("是" if res is not None else "否") if owner else "",
    ]


def roster_rows(node: AreaNode, *, unmasked: bool) -> Iterator[list[Any]]:
    """One row per owner or resident of each unit under `node` (a unit alone when it has nobody)."""
    owners = Ownership.objects.filter(until__isnull=True).select_related("person").order_by("pk")
    residents = Residence.objects.filter(until__isnull=True).select_related("person").order_by("pk")
    units = (
        Unit.objects.filter(path__startswith=node.path)
        .select_related("node__level", "node__parent")
        .prefetch_related(Prefetch("ownerships", queryset=owners), Prefetch("residences", queryset=residents))
        .order_by("path", "number", "pk")
    )
    for unit in units.iterator(chunk_size=CHUNK):
        if unit.node.level.code == "entrance":
            building, entrance = unit.node.parent.name, unit.node.name
        else:
            building, entrance = unit.node.name, ""
        unit_cells = [
            building,
            entrance,
            unit.number,
            unit.floor,
            unit.area_registered,
            unit.area_surveyed,
            unit.area_contract,
            USAGE_LABEL.get(unit.usage, ""),
        ]
        people: dict[int, list] = {}
        for own in unit.ownerships.all():
            people[own.person_id] = [own.person, own, None]
        for res in unit.residences.all():
            people.setdefault(res.person_id, [res.person, None, None])[2] = res
        if not people:
            yield unit_cells + [""] * (len(COLUMNS) - len(unit_cells))
        for person, own, res in people.values():
            yield unit_cells + _person_cells(person, own, res, unmasked)


def _csv_text(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text  # the importer drops the leading '


def iter_csv(rows: Iterator[list[Any]]) -> Iterator[bytes]:
    """CSV in UTF-8 with a BOM (so Excel picks the right encoding), yielded a few hundred lines at a time."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADER)
    yield b"\xef\xbb\xbf"
    for i, values in enumerate(rows, start=1):
        writer.writerow([_csv_text(v) for v in values])
        if i % 200 == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def _text_cells(sheet, values: list[Any]) -> list:
    """Write-only cells; strings are forced to text so a name starting with '=' never becomes a formula."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str) and value:
            cell.data_type = "s"
        cells.append(cell)
    return cells


def write_xlsx(rows: Iterator[list[Any]], out: IO[bytes], *, with_notes: bool = True) -> int:
    """Stream rows into a write-only workbook (openpyxl spills each sheet to a temporary file)."""
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("花名册")
    sheet.freeze_panes = "A2"
    header = _text_cells(sheet, HEADER)
    for cell in header:
        cell.font = Font(bold=True)
    sheet.append(header)
    count = 0
    for values in rows:
        sheet.append(_text_cells(sheet, values))
        count += 1
    if with_notes:
        notes = book.create_sheet("说明")
        notes.append(["列名", "column", "说明", "notes"])
        for c in COLUMNS:
            notes.append(_text_cells(notes, [c.zh, c.en, c.help_zh, c.help_en]))
        for line in FORMAT_HELP:
            notes.append(_text_cells(notes, ["", "", *line]))
    book.save(out)
    return count


def export_roster(node: AreaNode, out: IO[bytes], *, actor, fmt: str = "xlsx", unmasked: bool = False) -> int:
    """Write the roster of `node` to `out`; return the number of rows. Audits the export (and the PII view)."""
    record_export(node, actor=actor, fmt=fmt, unmasked=unmasked)
    count = 0

    def counted() -> Iterator[list[Any]]:
        nonlocal count
        for values in roster_rows(node, unmasked=unmasked):
            count += 1
            yield values

    if fmt == "csv":
        for chunk in iter_csv(counted()):
            out.write(chunk)
    else:
        write_xlsx(counted(), out)
    return count


def record_export(node: AreaNode, *, actor, fmt: str, unmasked: bool) -> None:
    """Check the permissions and write the audit entries before any row leaves the server."""
    actions.require(actor, "registry.export_roster", node)
    if unmasked:
        actions.require(actor, "registry.view_person_unmasked", node)
        audit.record(
            "pii.view", node, actor=actor, changes={"fields": UNMASKED_FIELDS, "via": "registry.export_roster"}
        )
    audit.record(
        "registry.export_roster",
        node,
        actor=actor,
        changes={"format": fmt, "unmasked": unmasked, "units": node.unit_count},
    )


def write_template(out: IO[bytes], rows: list[list[Any]]) -> None:
    """The blank (or example-filled) roster workbook offered for download and kept under samples/."""
    write_xlsx(iter(rows), out)
