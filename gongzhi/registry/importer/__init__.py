"""花名册导入 — bulk import of a compound's roster from Excel (.xlsx) or CSV.

One row per owner or resident of a unit (or a unit alone, with no person). Three layers, one module each
(`read`, `parse`, `write`; the format and its errors in `formats`); this package's names are the public API:

1. `read_table` turns the file's bytes into rows of cell values (xlsx via openpyxl in read-only mode; CSV in
   UTF-8 with or without BOM, or GB18030 as saved by Chinese Excel).
2. `parse_table` validates every row and the rows of one unit together, with no database access, and
   reports every bad row: row number, column and reason in Chinese and English.
3. `import_roster` (the action) checks the permission, matches the rows against the compound's units and
   people, and — unless it is a dry run — writes everything in one transaction with bulk inserts, one audit
   entry per batch naming the ids and the file's sha256 (never a personal value), then refreshes the counts.

Empty cells mean "not given": an import adds and completes, it never erases. Importing the same file twice
changes nothing the second time.
"""

from gongzhi.registry.importer.formats import (  # noqa: F401
    _CREDIT_ALPHABET,
    _CREDIT_WEIGHTS,
    AREA_FIELDS,
    AUDIT_BATCH,
    BATCH,
    COLUMN,
    COLUMNS,
    DEVELOPER,
    DEVELOPER_LABEL,
    FORMAT_HELP,
    HEADER_INDEX,
    KIND_LABEL,
    KINDS,
    MAX_BYTES,
    MAX_ROWS,
    NO,
    RELATION_LABEL,
    RELATIONS,
    REQUIRED_HEADERS,
    UNIT_COLUMNS,
    UNIT_FIELDS,
    USAGE_LABEL,
    USAGES,
    YES,
    Column,
    RosterFileError,
    RowError,
    _header_key,
    sample_rows,
)
from gongzhi.registry.importer.parse import (  # noqa: F401
    CellError,
    Parsed,
    PersonRow,
    RosterRow,
    _check_people,
    _check_units,
    _is_masked,
    _parse_person,
    _parse_row,
    _read_header,
    _text,
    normalize_credit_code,
    parse_area,
    parse_choice,
    parse_date,
    parse_floor,
    parse_table,
    parse_yes_no,
)
from gongzhi.registry.importer.read import (  # noqa: F401
    decode_csv,
    estimate_rows,
    read_table,
    sniff_format,
)
from gongzhi.registry.importer.write import (  # noqa: F401
    SUMMARY_KEYS,
    ImportReport,
    _chunks,
    _Plan,
    _plan_report,
    _Target,
    _UnitPlan,
    _write,
    file_digest,
    import_roster,
)
