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

from gongzhi.core import audit, crypto, pii
from gongzhi.core.gate import require
from gongzhi.core.spreadsheets import csv_text, xlsx_cells
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
AREAS = ("area_registered", "area_surveyed", "area_contract")
HEADER = [c.zh for c in COLUMNS]
UNMASKED_FIELDS = ["phone", "id_number", "birth_date"]


def can_export_unmasked(user, node: AreaNode, *, second_factor_passed: bool) -> bool:
    return second_factor_passed and user.has_perm("registry.view_person_unmasked", node)


PERSON_VALUES = (
    "person_id",
    "person__name",
    "person__kind",
    "person__phone",
    "person__id_number_enc",
    "person__birth_date",
    "person__credit_code",
)


def _person_cells(p: dict, own: dict | None, res: dict | None, unmasked: bool) -> list[Any]:
    enc = p["person__id_number_enc"]
    id_number = crypto.decrypt(enc, context=Person.ID_CONTEXT) if enc else ""
    owner = own is not None
    return [
        p["person__name"],
        KIND_LABEL.get(p["person__kind"], ""),
        RELATION_LABEL[Residence.Relation.OWNER] if owner else RELATION_LABEL.get(res["relation"], ""),
        p["person__phone"] if unmasked else pii.mask_phone(p["person__phone"]),
        id_number if unmasked else pii.mask_id_number(id_number),
        p["person__birth_date"].isoformat() if unmasked and p["person__birth_date"] else "",
        ("是" if own["is_designated_voter"] else "否") if owner else "",
        DEVELOPER_LABEL.get(own["developer_status"], "") if owner else "",
        p["person__credit_code"] if p["person__kind"] == Person.Kind.LEGAL else "",
        ("是" if res is not None else "否") if owner else "",
    ]


def roster_rows(node: AreaNode, *, unmasked: bool) -> Iterator[list[Any]]:
    """One row per owner or resident of each unit under `node` (a unit alone when it has nobody).

    Plain values, a chunk of units at a time (three queries per chunk), so memory and time stay flat.
    """
    nodes = {
        n["id"]: n
        for n in AreaNode.objects.filter(path__startswith=node.path).values("id", "name", "parent__name", "level__code")
    }
    unit_ids = list(
        Unit.objects.filter(path__startswith=node.path).order_by("path", "number", "pk").values_list("pk", flat=True)
    )
    for start in range(0, len(unit_ids), CHUNK):
        ids = unit_ids[start : start + CHUNK]
        units = {
            u["id"]: u
            for u in Unit.objects.filter(pk__in=ids).values("id", "node_id", "number", "floor", "usage", *AREAS)
        }
        people: dict[int, dict[int, list]] = {pk: {} for pk in ids}
        owners = Ownership.objects.filter(unit_id__in=ids, until__isnull=True).order_by("pk")
        for own in owners.values("unit_id", "is_designated_voter", "developer_status", *PERSON_VALUES):
            people[own["unit_id"]][own["person_id"]] = [own, own, None]
        residents = Residence.objects.filter(unit_id__in=ids, until__isnull=True).order_by("pk")
        for res in residents.values("unit_id", "relation", *PERSON_VALUES):
            people[res["unit_id"]].setdefault(res["person_id"], [res, None, None])[2] = res
        for pk in ids:
            unit = units[pk]
            place = nodes[unit["node_id"]]
            if place["level__code"] == "entrance":
                building, entrance = place["parent__name"], place["name"]
            else:
                building, entrance = place["name"], ""
            unit_cells = [
                building,
                entrance,
                unit["number"],
                unit["floor"],
                *(unit[a] for a in AREAS),
                USAGE_LABEL.get(unit["usage"], ""),
            ]
            if not people[pk]:
                yield unit_cells + [""] * (len(COLUMNS) - len(unit_cells))
            for person, own, res in people[pk].values():
                yield unit_cells + _person_cells(person, own, res, unmasked)


def iter_csv(rows: Iterator[list[Any]]) -> Iterator[bytes]:
    """CSV in UTF-8 with a BOM (so Excel picks the right encoding), yielded a few hundred lines at a time."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADER)
    yield b"\xef\xbb\xbf"
    for i, values in enumerate(rows, start=1):
        writer.writerow([csv_text(v) for v in values])  # the importer drops the leading '
        if i % 200 == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def write_xlsx(rows: Iterator[list[Any]], out: IO[bytes], *, with_notes: bool = True) -> int:
    """Stream rows into a write-only workbook (openpyxl spills each sheet to a temporary file)."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("花名册")
    sheet.freeze_panes = "A2"
    header = []
    for name in HEADER:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    count = 0
    for values in rows:
        sheet.append(xlsx_cells(sheet, values))
        count += 1
    if with_notes:
        notes = book.create_sheet("说明")
        notes.append(["列名", "column", "说明", "notes"])
        for c in COLUMNS:
            notes.append(xlsx_cells(notes, [c.zh, c.en, c.help_zh, c.help_en]))
        for line in FORMAT_HELP:
            notes.append(xlsx_cells(notes, ["", "", *line]))
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
    require(actor, "registry.export_roster", node)
    if unmasked:
        require(actor, "registry.view_person_unmasked", node)
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
