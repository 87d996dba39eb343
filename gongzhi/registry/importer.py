"""花名册导入 — bulk import of a compound's roster from Excel (.xlsx) or CSV.

One row per owner or resident of a unit (or a unit alone, with no person). Three layers:

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

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from gongzhi.core import audit, crypto, pii, workbooks
from gongzhi.core.gate import require
from gongzhi.core.spreadsheets import unescape
from gongzhi.registry import actions
from gongzhi.registry.models import AreaLevel, AreaNode, Ownership, Person, Residence, Unit

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 200_000
BATCH = 500  # rows per INSERT
AUDIT_BATCH = 1000  # ids named per audit entry


# --- The format ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    help_zh: str
    help_en: str
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("building", "楼栋", "building", "必填，如“1号楼”", "required, e.g. 1号楼", ("楼号", "楼栋号", "楼")),
    Column(
        "entrance",
        "单元",
        "entrance",
        "可空：空表示房屋直接属于楼栋",
        "may be empty: the unit is directly in the building",
        ("单元号",),
    ),
    Column(
        "number",
        "室号",
        "unit number",
        "必填，如“101”",
        "required, e.g. 101",
        ("房号", "户号", "房间号", "unit", "room", "number"),
    ),
    Column("floor", "楼层", "floor", "整数，地下为负数", "a whole number, negative below ground"),
    Column(
        "area_registered",
        "登记面积",
        "registered area",
        "平方米，最多两位小数",
        "m², up to 2 decimals",
        ("产权面积", "不动产登记面积"),
    ),
    Column(
        "area_surveyed",
        "测绘面积",
        "surveyed area",
        "平方米；三种面积至少填一种",
        "m²; give at least one of the three areas",
        ("实测面积",),
    ),
    Column("area_contract", "合同面积", "contract area", "平方米（购房合同）", "m² (sale contract)", ("预售面积",)),
    Column("usage", "用途", "usage", "住宅 / 商业 / 其他，空为住宅", "住宅 / 商业 / 其他; empty = residential"),
    Column(
        "name",
        "姓名",
        "name",
        "人员或单位名称；空行只登记房屋",
        "person or organisation; empty = the unit only",
        ("名称", "姓名/名称"),
    ),
    Column("kind", "类型", "kind", "自然人 / 单位，空为自然人", "自然人 / 单位; empty = natural person", ("人员类型",)),
    Column(
        "relation",
        "关系",
        "relation",
        "业主 / 家庭成员 / 租户 / 其他",
        "业主 / 家庭成员 / 租户 / 其他",
        ("与房屋关系",),
    ),
    Column(
        "phone",
        "手机",
        "phone",
        "11位手机号或固定电话（0371-68989517）",
        "11-digit mobile or a landline",
        ("手机号", "电话", "联系电话", "mobile"),
    ),
    Column(
        "id_number",
        "身份证号",
        "ID number",
        "18位，请设为文本格式",
        "18 characters; format the column as text",
        ("身份证", "身份证号码", "证件号码", "id"),
    ),
    Column(
        "birth_date",
        "出生日期",
        "birth date",
        "可空：由身份证号推出，格式 1950-03-02",
        "optional: derived from the ID number; 1950-03-02",
        ("生日",),
    ),
    Column(
        "designated_voter",
        "共有人表决代表",
        "designated voter",
        "是 / 否（共有人推选的表决人）",
        "是 / 否 (the co-owners' voter)",
        ("表决代表",),
    ),
    Column(
        "developer_status",
        "开发商持有",
        "developer status",
        "未出售 / 已售未交付 / 空",
        "未出售 / 已售未交付 / empty",
        ("开发商",),
    ),
    Column(
        "credit_code",
        "统一社会信用代码",
        "credit code",
        "单位填写，18位",
        "organisations only, 18 characters",
        ("信用代码",),
    ),
    Column(
        "resides",
        "在住",
        "resides",
        "是 / 否；业主空为“是”（单位、开发商为“否”）",
        "是 / 否; owners default to 是 (organisations: 否)",
        ("是否在住",),
    ),
)
COLUMN = {c.key: c for c in COLUMNS}
REQUIRED_HEADERS = ("building", "number")
AREA_FIELDS = ("area_registered", "area_surveyed", "area_contract")
UNIT_FIELDS = ("floor", "usage", *AREA_FIELDS)
UNIT_COLUMNS = frozenset({"building", "entrance", "number", *UNIT_FIELDS, "area"})

USAGES = {
    "住宅": Unit.Usage.RESIDENTIAL,
    "商业": Unit.Usage.COMMERCIAL,
    "商铺": Unit.Usage.COMMERCIAL,
    "其他": Unit.Usage.OTHER,
    "residential": Unit.Usage.RESIDENTIAL,
    "commercial": Unit.Usage.COMMERCIAL,
    "other": Unit.Usage.OTHER,
}
KINDS = {
    "自然人": Person.Kind.NATURAL,
    "个人": Person.Kind.NATURAL,
    "单位": Person.Kind.LEGAL,
    "法人": Person.Kind.LEGAL,
    "法人/单位": Person.Kind.LEGAL,
    "natural": Person.Kind.NATURAL,
    "person": Person.Kind.NATURAL,
    "legal": Person.Kind.LEGAL,
    "organisation": Person.Kind.LEGAL,
    "organization": Person.Kind.LEGAL,
}
RELATIONS = {
    "业主": Residence.Relation.OWNER,
    "产权人": Residence.Relation.OWNER,
    "家庭成员": Residence.Relation.FAMILY,
    "家属": Residence.Relation.FAMILY,
    "租户": Residence.Relation.TENANT,
    "租客": Residence.Relation.TENANT,
    "其他": Residence.Relation.OTHER,
    "owner": Residence.Relation.OWNER,
    "family": Residence.Relation.FAMILY,
    "tenant": Residence.Relation.TENANT,
    "other": Residence.Relation.OTHER,
}
DEVELOPER = {
    "未出售": Ownership.DeveloperStatus.UNSOLD,
    "已售未交付": Ownership.DeveloperStatus.UNDELIVERED,
    "unsold": Ownership.DeveloperStatus.UNSOLD,
    "undelivered": Ownership.DeveloperStatus.UNDELIVERED,
    "否": "",
    "no": "",
}
YES = {"是", "yes", "y", "true", "1", "√", "✓"}
NO = {"否", "no", "n", "false", "0", "×", "✗"}

# Labels written by the exporter (and accepted by the importer).
USAGE_LABEL = {Unit.Usage.RESIDENTIAL: "住宅", Unit.Usage.COMMERCIAL: "商业", Unit.Usage.OTHER: "其他"}
KIND_LABEL = {Person.Kind.NATURAL: "自然人", Person.Kind.LEGAL: "单位"}
RELATION_LABEL = {
    Residence.Relation.OWNER: "业主",
    Residence.Relation.FAMILY: "家庭成员",
    Residence.Relation.TENANT: "租户",
    Residence.Relation.OTHER: "其他",
}
DEVELOPER_LABEL = {
    "": "",
    Ownership.DeveloperStatus.UNSOLD: "未出售",
    Ownership.DeveloperStatus.UNDELIVERED: "已售未交付",
}

_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _header_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    text = re.sub(r"[（(].*?[)）]", "", text)  # "登记面积(㎡)" → "登记面积"
    return re.sub(r"[\s_*＊:：]", "", text)


FORMAT_HELP = [
    (
        "每行是一套房屋的一位业主或住户；没有人员的房屋只填房屋各列。",
        "One row per owner or resident of a unit; a unit with nobody: unit columns only.",
    ),
    (
        "只读取第一个工作表；第一行是列名，中文或英文均可。",
        "Only the first sheet is read; row 1 holds the column names, Chinese or English.",
    ),
    (
        "同一房屋的各行，楼层、用途和面积须一致；三种面积至少填一种。",
        "Rows of one unit must agree on floor, usage and areas; give at least one area.",
    ),
    (
        "空白单元格表示“不修改”：导入只新增和补全，不会清除已有数据。",
        "An empty cell means 'leave as is': an import adds and completes, it never erases.",
    ),
    (
        "人员按身份证号匹配，其次按本楼院内的姓名和手机号，再次按同一房屋内的姓名。",
        "People are matched by ID number, then by name and phone in the compound, then by name in the unit.",
    ),
    ("同一文件重复导入不会产生重复数据。", "Importing the same file again changes nothing."),
    ("含*号的（已脱敏）手机号和身份证号不导入。", "Masked phones and ID numbers (with *) are not imported."),
    ("CSV 可用 UTF-8（可带BOM）或 GB18030 编码。", "CSV may be UTF-8 (with or without BOM) or GB18030."),
]


def sample_rows() -> list[list[Any]]:
    """Example rows (fictitious people, valid check digits) in column order, for the template and samples."""

    def rid(born: str, seq: str) -> str:
        return f"410103{born}{seq}" + pii.id_check_digit(f"410103{born}{seq}")

    rows = [
        dict(
            building="1号楼",
            entrance="1单元",
            number="101",
            floor=1,
            area_registered="62.50",
            usage="住宅",
            name="张三",
            kind="自然人",
            relation="业主",
            phone="13800000001",
            id_number=rid("19500302", "101"),
            designated_voter="是",
            resides="是",
        ),
        dict(
            building="1号楼",
            entrance="1单元",
            number="101",
            floor=1,
            area_registered="62.50",
            usage="住宅",
            name="李四",
            kind="自然人",
            relation="业主",
            phone="13800000002",
            id_number=rid("19520611", "202"),
            designated_voter="否",
            resides="是",
        ),
        dict(
            building="1号楼",
            entrance="1单元",
            number="101",
            floor=1,
            area_registered="62.50",
            usage="住宅",
            name="张小明",
            kind="自然人",
            relation="家庭成员",
            birth_date="2012-09-01",
        ),
        dict(
            building="1号楼",
            entrance="1单元",
            number="102",
            floor=1,
            area_surveyed="60.80",
            usage="住宅",
            name="王五",
            kind="自然人",
            relation="租户",
            phone="0371-68989517",
        ),
        dict(
            building="1号楼",
            entrance="",
            number="商1",
            floor=1,
            area_contract="35.00",
            usage="商业",
            name="郑州示例置业有限公司",
            kind="单位",
            relation="业主",
            developer_status="未出售",
            credit_code="91110000802100433B",
            resides="否",
        ),
        dict(building="2号楼", entrance="1单元", number="201", floor=2, area_registered="70.00", usage="住宅"),
    ]
    return [[r.get(c.key, "") for c in COLUMNS] for r in rows]


HEADER_INDEX: dict[str, str] = {}
for _c in COLUMNS:
    for _name in (_c.zh, _c.en, _c.key, *_c.aliases):
        HEADER_INDEX[_header_key(_name)] = _c.key


# --- Errors --------------------------------------------------------------------------------------------


class RosterFileError(ValueError):
    """The file as a whole cannot be read (type, size, encoding, no header)."""

    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


@dataclass(frozen=True)
class RowError:
    """One problem: the spreadsheet row (the header is row 1 in a plain file), the column and the reason."""

    row: int
    column: str  # a column key, "area", "file" or the unknown header's text
    zh: str
    en: str
    unit_wide: bool = False  # the whole unit's rows are unusable, not just this one

    @property
    def column_zh(self) -> str:
        if self.column == "area":
            return "面积"
        return COLUMN[self.column].zh if self.column in COLUMN else self.column

    @property
    def column_en(self) -> str:
        if self.column == "area":
            return "area"
        return COLUMN[self.column].en if self.column in COLUMN else self.column

    @property
    def message(self) -> str:
        return f"第{self.row}行 {self.column_zh}：{self.zh}"

    @property
    def message_en(self) -> str:
        return f"row {self.row} {self.column_en}: {self.en}"

    def __str__(self) -> str:
        return f"{self.message} / {self.message_en}"

    def as_dict(self) -> dict:
        return {
            "row": self.row,
            "column": self.column,
            "column_zh": self.column_zh,
            "column_en": self.column_en,
            "message": self.zh,
            "message_en": self.en,
            "text": self.message,
            "text_en": self.message_en,
        }


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


# --- Cell values ---------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel keeps every number as a float: 101.0 is room 101
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return unescape(text)  # the exporter's formula guard


class CellError(ValueError):
    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


def parse_area(text: str) -> Decimal | None:
    if not text:
        return None
    cleaned = re.sub(r"(㎡|m2|m²|平方米|平米|,)", "", text, flags=re.I).strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise CellError("面积应为数字（平方米）", "must be a number of square metres") from None
    if not value.is_finite():
        raise CellError("面积应为数字（平方米）", "must be a number of square metres")
    if value < 0:
        raise CellError("面积不能为负数", "must not be negative")
    if value == 0:
        raise CellError("面积应大于0", "must be greater than 0")
    if value.as_tuple().exponent < -2 and value != value.quantize(Decimal("0.01")):
        raise CellError("面积最多保留两位小数", "at most 2 decimal places")
    if value >= Decimal("100000000"):
        raise CellError("面积过大", "is too large")
    return value.quantize(Decimal("0.01"))


def parse_floor(text: str) -> int | None:
    if not text:
        return None
    cleaned = text.removesuffix("层").removesuffix("楼").strip()
    if not re.fullmatch(r"-?\d{1,3}", cleaned) or not -10 <= int(cleaned) <= 300:
        raise CellError("楼层应为-10到300之间的整数", "must be a whole number from -10 to 300")
    return int(cleaned)


def parse_date(value: Any, text: str) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text) or re.fullmatch(
        r"(\d{4})(\d{2})(\d{2})", text
    )
    try:
        if not m:
            raise ValueError
        born = date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise CellError("日期格式应为 1950-03-02", "must be a date such as 1950-03-02") from None
    if born.year < 1880 or born > date.today():
        raise CellError("出生日期不合理", "the birth date is out of range")
    return born


def parse_choice(text: str, choices: dict[str, str], zh: str, en: str) -> str | None:
    if not text:
        return None
    found = choices.get(text) if text in choices else choices.get(text.lower())
    if found is None:
        # The value itself is left out: reports are kept, and a shifted column may hold a name or a phone.
        raise CellError(f"无法识别的值，应为{zh}", f"unknown value, expected {en}")
    return found


def parse_yes_no(text: str) -> bool | None:
    if not text:
        return None
    if text.lower() in YES:
        return True
    if text.lower() in NO:
        return False
    raise CellError("应填“是”或“否”", "must be 是 (yes) or 否 (no)")


def normalize_credit_code(text: str) -> str:
    """统一社会信用代码 (GB 32100-2015): 18 characters with a mod-31 check character."""
    code = text.upper().replace(" ", "")
    if not re.fullmatch(f"[{_CREDIT_ALPHABET}]{{18}}", code):
        raise CellError("统一社会信用代码应为18位数字或大写字母", "must be 18 digits or capital letters")
    total = sum(_CREDIT_ALPHABET.index(ch) * w for ch, w in zip(code[:17], _CREDIT_WEIGHTS, strict=True))
    if _CREDIT_ALPHABET[(31 - total % 31) % 31] != code[17]:
        raise CellError("统一社会信用代码校验位不正确", "the check character is wrong")
    return code


def _is_masked(text: str) -> bool:
    return "*" in text


# --- Parsing the rows ----------------------------------------------------------------------------------


@dataclass
class PersonRow:
    name: str
    kind: str
    relation: str
    phone: str = ""
    id_number: str = ""
    birth_date: date | None = None
    designated_voter: bool | None = None
    developer_status: str | None = None
    credit_code: str = ""
    resides: bool | None = None

    @property
    def file_key(self) -> tuple:
        """Who this is, as far as the file alone can tell (to find the same person listed twice)."""
        if self.id_number:
            return ("id", self.id_number)
        if self.kind == Person.Kind.LEGAL and self.credit_code:
            return ("cc", self.credit_code)
        return ("np", self.kind, self.name, self.phone)

    @property
    def lives_here(self) -> bool:
        if self.relation != Residence.Relation.OWNER:
            return True
        if self.resides is not None:
            return self.resides
        return self.kind == Person.Kind.NATURAL and not self.developer_status


@dataclass
class RosterRow:
    row: int
    building: str
    entrance: str
    number: str
    unit: dict[str, Any]  # the unit fields this row gives
    person: PersonRow | None

    @property
    def unit_key(self) -> tuple[str, str, str]:
        return (self.building, self.entrance, self.number)


@dataclass
class Parsed:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    bad_rows: set[int] = field(default_factory=set)
    total_rows: int = 0
    fatal: bool = False  # the header is wrong: nothing may be written, even skipping bad rows

    @property
    def good_rows(self) -> list[RosterRow]:
        return [r for r in self.rows if r.row not in self.bad_rows]


def _read_header(number: int, values: Sequence[Any], parsed: Parsed) -> dict[int, str]:
    positions: dict[int, str] = {}
    seen: dict[str, int] = {}
    for i, value in enumerate(values):
        text = _text(value)
        if not text:
            continue
        key = HEADER_INDEX.get(_header_key(text))
        if key is None:
            parsed.errors.append(RowError(number, text[:30], "未知的列名", "unknown column"))
            parsed.fatal = True
        elif key in seen:
            parsed.errors.append(
                RowError(
                    number,
                    key,
                    f"列名重复（第{seen[key] + 1}列和第{i + 1}列）",
                    f"the column appears twice (columns {seen[key] + 1} and {i + 1})",
                )
            )
            parsed.fatal = True
        else:
            seen[key] = i
            positions[i] = key
    for key in REQUIRED_HEADERS:
        if key not in seen:
            parsed.errors.append(RowError(number, key, "缺少必需的列", "required column is missing"))
            parsed.fatal = True
    if not any(k in seen for k in AREA_FIELDS):
        parsed.errors.append(
            RowError(
                number,
                "area",
                "缺少面积列：登记面积、测绘面积、合同面积至少要有一列",
                "no area column: give registered, surveyed or contract area",
            )
        )
        parsed.fatal = True
    return positions


def _parse_row(number: int, cells: dict[str, Any], parsed: Parsed) -> RosterRow | None:
    errors: list[RowError] = []
    text = {k: _text(v) for k, v in cells.items()}

    def err(column: str, zh: str, en: str) -> None:
        errors.append(RowError(number, column, zh, en, unit_wide=column in UNIT_COLUMNS))

    building, entrance, unit_number = text.get("building", ""), text.get("entrance", ""), text.get("number", "")
    if not building:
        err("building", "楼栋不能为空", "building is required")
    if not unit_number:
        err("number", "室号不能为空", "unit number is required")
    for key, limit in (("building", 100), ("entrance", 100), ("number", 30)):
        if len(text.get(key, "")) > limit:
            err(key, f"不能超过{limit}个字", f"at most {limit} characters")
    unit: dict[str, Any] = {}
    for key, parser in (("floor", parse_floor), *((a, parse_area) for a in AREA_FIELDS)):
        try:
            value = parser(text.get(key, ""))
        except CellError as e:
            err(key, e.zh, e.en)
        else:
            if value is not None:
                unit[key] = value
    try:
        usage = parse_choice(text.get("usage", ""), USAGES, "住宅、商业或其他", "住宅 / 商业 / 其他")
    except CellError as e:
        err("usage", e.zh, e.en)
    else:
        if usage:
            unit["usage"] = usage

    person = None
    person_keys = (
        "name",
        "kind",
        "relation",
        "phone",
        "id_number",
        "birth_date",
        "designated_voter",
        "developer_status",
        "credit_code",
        "resides",
    )
    if any(text.get(k) for k in person_keys):
        person = _parse_person(number, cells, text, err, parsed)

    parsed.errors.extend(errors)
    if errors:
        parsed.bad_rows.add(number)
    if not building or not unit_number:
        return None
    return RosterRow(number, building, entrance, unit_number, unit, person)


def _parse_person(number: int, cells: dict, text: dict[str, str], err, parsed: Parsed) -> PersonRow | None:
    name = text.get("name", "")
    if not name:
        err("name", "姓名不能为空（本行填写了人员信息）", "name is required when person details are given")
    elif len(name) > 100:
        err("name", "不能超过100个字", "at most 100 characters")
    values: dict[str, Any] = {}
    for key, choices, zh, en in (
        ("kind", KINDS, "自然人或单位", "自然人 / 单位"),
        ("relation", RELATIONS, "业主、家庭成员、租户或其他", "业主 / 家庭成员 / 租户 / 其他"),
        ("developer_status", DEVELOPER, "未出售、已售未交付或空", "未出售 / 已售未交付 / empty"),
    ):
        try:
            values[key] = parse_choice(text.get(key, ""), choices, zh, en)
        except CellError as e:
            err(key, e.zh, e.en)
            values[key] = "?"
    for key in ("designated_voter", "resides"):
        try:
            values[key] = parse_yes_no(text.get(key, ""))
        except CellError as e:
            err(key, e.zh, e.en)
    credit_code = text.get("credit_code", "")
    kind = values["kind"] or (Person.Kind.LEGAL if credit_code else Person.Kind.NATURAL)
    relation = values["relation"]
    if relation is None:
        err(
            "relation",
            "关系不能为空：业主、家庭成员、租户或其他",
            "relation is required: 业主 / 家庭成员 / 租户 / 其他",
        )

    phone = text.get("phone", "")
    if phone and _is_masked(phone):
        parsed.warnings.append(
            RowError(number, "phone", "已脱敏的号码不导入，保留原有号码", "a masked number is not imported")
        )
        phone = ""
    elif phone:
        try:
            phone = pii.normalize_phone(phone)
        except pii.PiiError as e:
            err("phone", e.zh, e.en)
            phone = ""

    id_number = text.get("id_number", "")
    if id_number and _is_masked(id_number):
        parsed.warnings.append(
            RowError(number, "id_number", "已脱敏的证件号不导入，保留原有证件号", "a masked ID number is not imported")
        )
        id_number = ""
    elif id_number and kind == Person.Kind.LEGAL:
        err("id_number", "单位不填身份证号，请填统一社会信用代码", "organisations have a credit code, not an ID number")
        id_number = ""
    elif id_number:
        try:
            id_number = pii.normalize_resident_id(id_number)
        except pii.PiiError as e:
            hint_zh = (
                "（Excel可能把长数字改成了科学计数法，请将该列设为文本）" if re.search(r"[eE+.]", id_number) else ""
            )
            hint_en = " (Excel may have turned it into a number: format the column as text)" if hint_zh else ""
            err("id_number", e.zh + hint_zh, e.en + hint_en)
            id_number = ""

    birth = None
    try:
        birth = parse_date(cells.get("birth_date"), text.get("birth_date", ""))
    except CellError as e:
        err("birth_date", e.zh, e.en)
    if birth and id_number and birth != pii.birth_date_from_id(id_number):
        err("birth_date", "出生日期与身份证号不一致", "does not match the birth date inside the ID number")
    if id_number and not birth:
        birth = pii.birth_date_from_id(id_number)

    if credit_code:
        if kind != Person.Kind.LEGAL:
            err("credit_code", "只有单位填写统一社会信用代码", "only organisations have a credit code")
        else:
            try:
                credit_code = normalize_credit_code(credit_code)
            except CellError as e:
                err("credit_code", e.zh, e.en)
                credit_code = ""

    designated, developer, resides = values.get("designated_voter"), values["developer_status"], values.get("resides")
    if relation and relation != Residence.Relation.OWNER:
        if designated:
            err("designated_voter", "只有业主可作为共有人表决代表", "only an owner can be the designated voter")
        if developer:
            err("developer_status", "只有业主一行可填开发商持有", "only an owner row can be developer-held")
        if resides is False:
            err("resides", "家庭成员和租户即在住人员，不能填“否”", "family members and tenants live here: cannot be 否")
    if developer and developer != "?" and designated:
        err(
            "designated_voter",
            "开发商持有的房屋不能指定共有人表决代表",
            "a developer-held unit has no designated co-owner voter",
        )
    if kind == Person.Kind.LEGAL and resides:
        err("resides", "单位不能“在住”", "an organisation cannot live in a unit")
    if not name or relation is None or "?" in (values["kind"], relation, developer):
        return None
    return PersonRow(
        name=name,
        kind=kind,
        relation=relation,
        phone=phone,
        id_number=id_number,
        birth_date=birth,
        designated_voter=designated,
        developer_status=developer,
        credit_code=credit_code,
        resides=resides,
    )


def parse_table(table: list[tuple[int, list[Any]]]) -> Parsed:
    """Validate every row, then the rows of each unit together; collect every problem (no database access)."""
    parsed = Parsed()
    header_number, header = table[0]
    positions = _read_header(header_number, header, parsed)
    if not any(k in positions.values() for k in REQUIRED_HEADERS):
        parsed.total_rows = len(table) - 1
        return parsed  # without building or number nothing can be read
    for number, values in table[1:]:
        parsed.total_rows += 1
        cells = {key: values[i] for i, key in positions.items() if i < len(values)}
        row = _parse_row(number, cells, parsed)
        if row is not None:
            parsed.rows.append(row)
    _check_units(parsed)
    _check_people(parsed)
    parsed.errors.sort(key=lambda e: (e.row, list(COLUMN).index(e.column) if e.column in COLUMN else -1))
    return parsed


def _check_units(parsed: Parsed) -> None:
    """Rows of one unit must agree on the unit's facts; one designated voter; no one listed twice."""
    groups: dict[tuple, list[RosterRow]] = defaultdict(list)
    for r in parsed.rows:
        groups[r.unit_key].append(r)
    area_error_rows = {e.row for e in parsed.errors if e.column in AREA_FIELDS}
    for rows in groups.values():
        first: dict[str, tuple[int, Any]] = {}
        for r in rows:
            for f, value in r.unit.items():
                if f not in first:
                    first[f] = (r.row, value)
                elif first[f][1] != value:
                    c = COLUMN[f]
                    parsed.errors.append(
                        RowError(
                            r.row,
                            f,
                            f"与第{first[f][0]}行同一房屋的{c.zh}不一致",
                            f"differs from the {c.en} on row {first[f][0]} for the same unit",
                            unit_wide=True,
                        )
                    )
        if not any(a in first for a in AREA_FIELDS) and not any(r.row in area_error_rows for r in rows):
            parsed.errors.append(
                RowError(
                    rows[0].row,
                    "area",
                    "该房屋没有面积：登记面积、测绘面积、合同面积至少填一种",
                    "the unit has no area: give the registered, surveyed or contract area",
                    unit_wide=True,
                )
            )
        voters = [r for r in rows if r.person and r.person.designated_voter]
        for r in voters[1:]:
            parsed.errors.append(
                RowError(
                    r.row,
                    "designated_voter",
                    f"同一房屋只能有一位共有人表决代表（第{voters[0].row}行已指定）",
                    f"one designated voter per unit (row {voters[0].row} already is)",
                    unit_wide=True,
                )
            )
        seen: dict[tuple, int] = {}
        for r in rows:
            if r.person is None:
                continue
            k = r.person.file_key
            if k in seen:
                parsed.errors.append(
                    RowError(
                        r.row,
                        "name",
                        f"同一房屋重复列出此人（见第{seen[k]}行）",
                        f"this person is already listed for the unit on row {seen[k]}",
                    )
                )
                parsed.bad_rows.add(r.row)
            else:
                seen[k] = r.row
        owners = [
            r
            for r in rows
            if r.person and r.person.relation == Residence.Relation.OWNER and not r.person.developer_status
        ]
        if len(owners) > 1 and not voters:
            parsed.warnings.append(
                RowError(
                    owners[0].row,
                    "designated_voter",
                    "共有房屋未指定共有人表决代表",
                    "co-owned unit without a designated voter",
                )
            )
    key_of_row = {r.row: r.unit_key for r in parsed.rows}
    unit_wide_bad = {key_of_row[e.row] for e in parsed.errors if e.unit_wide and e.row in key_of_row}
    for r in parsed.rows:
        if r.unit_key in unit_wide_bad:
            parsed.bad_rows.add(r.row)


def _check_people(parsed: Parsed) -> None:
    """The same ID number (or credit code) must name the same person on every row."""
    names: dict[tuple, tuple[int, str]] = {}
    for r in parsed.rows:
        p = r.person
        if p is None or p.file_key[0] == "np":
            continue
        k = p.file_key
        if k not in names:
            names[k] = (r.row, p.name)
        elif names[k][1] != p.name:
            column = "id_number" if k[0] == "id" else "credit_code"
            parsed.errors.append(
                RowError(
                    r.row,
                    column,
                    f"与第{names[k][0]}行证件号相同但姓名/名称不同",
                    f"same number as row {names[k][0]} but a different name",
                )
            )
            parsed.bad_rows.add(r.row)


# --- Matching against the database and writing ----------------------------------------------------------


SUMMARY_KEYS = (
    "buildings_new",
    "entrances_new",
    "units_new",
    "units_updated",
    "units_unchanged",
    "persons_new",
    "persons_matched",
    "persons_updated",
    "ownerships_new",
    "ownerships_updated",
    "residences_new",
    "residences_updated",
)


@dataclass
class ImportReport:
    compound_id: int
    compound_name: str
    sha256: str
    size: int
    total_rows: int
    errors: list[RowError]
    warnings: list[RowError]
    bad_rows: list[int]
    summary: dict[str, int]
    dry_run: bool
    skip_bad_rows: bool
    fatal: bool
    written: bool = False
    skipped_rows: list[int] = field(default_factory=list)
    audit_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def can_write(self) -> bool:
        return not self.fatal and (not self.errors or self.skip_bad_rows)

    def as_dict(self) -> dict:
        return {
            "compound": self.compound_id,
            "compound_name": self.compound_name,
            "sha256": self.sha256,
            "size": self.size,
            "rows": self.total_rows,
            "dry_run": self.dry_run,
            "skip_bad_rows": self.skip_bad_rows,
            "written": self.written,
            "fatal": self.fatal,
            "bad_rows": self.bad_rows,
            "skipped_rows": self.skipped_rows,
            "summary": self.summary,
            "audit_id": self.audit_id,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
        }


class _Target:
    """A person a row refers to: an existing one (`rec`) or one to create (`obj`)."""

    __slots__ = ("rec", "obj", "fill", "id_hash", "home_unit", "resident_unit")

    def __init__(self, rec: dict | None = None, obj: Person | None = None):
        self.rec, self.obj, self.fill = rec, obj, {}
        self.id_hash = (rec or {}).get("id_number_hash", "") or (obj.id_number_hash if obj else "")
        self.home_unit = self.resident_unit = None

    @property
    def pk(self) -> int | None:
        return self.rec["id"] if self.rec else self.obj.pk


@dataclass
class _UnitPlan:
    key: tuple[str, str, str]
    existing: dict | None
    values: dict[str, Any]
    changes: dict[str, Any] = field(default_factory=dict)
    obj: Unit | None = None

    @property
    def pk(self) -> int:
        return self.existing["id"] if self.existing else self.obj.pk


def _chunks(seq: Sequence, size: int) -> Iterable[Sequence]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


class _Plan:
    """What the good rows mean for this compound: what to create, update or leave alone."""

    PERSON_FIELDS = ("id", "name", "kind", "phone", "id_number_hash", "birth_date", "credit_code", "home_path")

    def __init__(self, compound: AreaNode, rows: list[RosterRow]):
        self.compound, self.rows = compound, rows
        nodes = AreaNode.objects.filter(path__startswith=compound.path).exclude(pk=compound.pk)
        self.nodes = {(n["parent_id"], n["name"]): n for n in nodes.values("id", "parent_id", "name", "path")}
        self.new_nodes: dict[tuple, tuple] = {}  # node key → (parent key or None, name, level code)
        self.units: dict[tuple, _UnitPlan] = {}
        self.targets: list[_Target] = []
        self.new_ownerships: list[dict] = []
        self.own_updates: dict[int, dict] = {}
        self.new_residences: list[dict] = []
        self.res_updates: dict[int, str] = {}
        self.designate: dict[tuple, tuple] = {}  # unit key → (target, ownership id or None)
        self._plan_units()
        self._load_people()
        self._plan_people()

    # Units and the nodes they hang on.
    def node_key(self, r: RosterRow) -> tuple:
        return ("e", r.building, r.entrance) if r.entrance else ("b", r.building)

    def existing_node(self, key: tuple) -> dict | None:
        building = self.nodes.get((self.compound.pk, key[1]))
        if key[0] == "b" or building is None:
            return building
        return self.nodes.get((building["id"], key[2]))

    def _plan_units(self) -> None:
        existing = {
            (u["node_id"], u["number"]): u
            for u in Unit.objects.filter(compound=self.compound).values("id", "node_id", "number", "path", *UNIT_FIELDS)
        }
        for r in self.rows:
            plan = self.units.get(r.unit_key)
            if plan is None:
                nkey = self.node_key(r)
                node = self.existing_node(nkey)
                if node is None:
                    if ("b", r.building) not in self.new_nodes and self.existing_node(("b", r.building)) is None:
                        self.new_nodes[("b", r.building)] = (None, r.building, "building")
                    if nkey[0] == "e" and nkey not in self.new_nodes:
                        self.new_nodes[nkey] = (("b", r.building), r.entrance, "entrance")
                plan = _UnitPlan(r.unit_key, existing.get((node["id"], r.number)) if node else None, {})
                self.units[r.unit_key] = plan
            for f, v in r.unit.items():
                plan.values.setdefault(f, v)
        for plan in self.units.values():
            if plan.existing:
                plan.changes = {f: v for f, v in plan.values.items() if plan.existing[f] != v}

    # People.
    def _load_people(self) -> None:
        persons = Person.objects.filter(erased_at__isnull=True)
        hashes = sorted(
            {
                crypto.lookup_hash(r.person.id_number, context=Person.ID_CONTEXT)
                for r in self.rows
                if r.person and r.person.id_number
            }
        )
        self.by_hash: dict[str, _Target] = {}
        self.records: dict[int, _Target] = {}
        for chunk in _chunks(hashes, BATCH):
            for rec in persons.filter(id_number_hash__in=chunk).values(*self.PERSON_FIELDS):
                self.by_hash[rec["id_number_hash"]] = self._existing(rec)
        codes = sorted({r.person.credit_code for r in self.rows if r.person and r.person.credit_code})
        self.by_code: dict[str, _Target] = {}
        for chunk in _chunks(codes, BATCH):
            for rec in persons.filter(kind=Person.Kind.LEGAL, credit_code__in=chunk).values(*self.PERSON_FIELDS):
                self.by_code.setdefault(rec["credit_code"], self._existing(rec))
        own = Ownership.objects.filter(unit__compound=self.compound, until__isnull=True)
        res = Residence.objects.filter(unit__compound=self.compound, until__isnull=True)
        local = persons.filter(
            Q(pk__in=own.values("person_id"))
            | Q(pk__in=res.values("person_id"))
            | Q(home_path__startswith=self.compound.path)
        )
        self.by_name_phone: dict[tuple, _Target] = {}
        for rec in local.values(*self.PERSON_FIELDS):
            t = self._existing(rec)
            if rec["phone"]:
                self.by_name_phone.setdefault((rec["kind"], rec["name"], rec["phone"]), t)
        self.ownerships = {
            (o["unit_id"], o["person_id"]): o
            for o in own.values("id", "unit_id", "person_id", "is_designated_voter", "developer_status")
        }
        self.residences = {
            (x["unit_id"], x["person_id"]): x for x in res.values("id", "unit_id", "person_id", "relation")
        }
        self.linked: dict[tuple, _Target] = {}  # (unit id, kind, name) → a person already linked to the unit
        for unit_id, person_id in [*self.ownerships, *self.residences]:
            t = self.records.get(person_id)
            if t is not None:
                self.linked.setdefault((unit_id, t.rec["kind"], t.rec["name"]), t)

    def _existing(self, rec: dict) -> _Target:
        t = self.records.get(rec["id"])
        if t is None:
            t = self.records[rec["id"]] = _Target(rec=rec)
        return t

    def _new(self, p: PersonRow) -> _Target:
        obj = Person(
            kind=p.kind,
            name=p.name,
            phone=p.phone,
            birth_date=p.birth_date,
            credit_code=p.credit_code,
            is_developer=bool(p.developer_status),
        )
        if p.id_number:
            obj.set_id_number(p.id_number)
        t = _Target(obj=obj)
        self.targets.append(t)
        return t

    def _resolve(self, p: PersonRow, unit: _UnitPlan, claimed: dict[int, str]) -> _Target:
        id_hash = crypto.lookup_hash(p.id_number, context=Person.ID_CONTEXT) if p.id_number else ""

        def usable(t: _Target | None) -> bool:  # a match without an ID number may take this one's
            return (
                t is not None and (not id_hash or t.id_hash in ("", id_hash)) and claimed.get(id(t), id_hash) == id_hash
            )

        t = self.by_hash.get(id_hash) if id_hash else None
        if t is None and p.kind == Person.Kind.LEGAL and p.credit_code:
            t = self.by_code.get(p.credit_code)
        if t is None and p.phone:
            cand = self.by_name_phone.get((p.kind, p.name, p.phone))
            t = cand if usable(cand) else None
        if t is None and unit.existing:
            cand = self.linked.get((unit.existing["id"], p.kind, p.name))
            t = cand if usable(cand) else None
        if t is None:
            t = self._new(p)
            if not id_hash and not p.phone and not (p.kind == Person.Kind.LEGAL and p.credit_code):
                return t  # nothing identifies this person beyond the unit: never merged with another row
        if id_hash:
            self.by_hash.setdefault(id_hash, t)
            claimed[id(t)] = id_hash
            t.id_hash = t.id_hash or id_hash
        if p.kind == Person.Kind.LEGAL and p.credit_code:
            self.by_code.setdefault(p.credit_code, t)
        if p.phone:
            self.by_name_phone.setdefault((p.kind, p.name, p.phone), t)
        return t

    def _complete(self, t: _Target, p: PersonRow) -> None:
        """Fill what the person record lacks; an import never overwrites a value already there."""
        current = (
            t.rec
            if t.rec
            else {
                "phone": t.obj.phone,
                "id_number_hash": t.obj.id_number_hash,
                "birth_date": t.obj.birth_date,
                "credit_code": t.obj.credit_code,
            }
        )
        if p.phone and not current["phone"] and "phone" not in t.fill:
            t.fill["phone"] = p.phone
        if p.id_number and not current["id_number_hash"] and "id_number" not in t.fill:
            t.fill["id_number"] = p.id_number
        if p.birth_date and not current["birth_date"] and "birth_date" not in t.fill and "id_number" not in t.fill:
            t.fill["birth_date"] = p.birth_date
        if p.credit_code and not current["credit_code"] and "credit_code" not in t.fill:
            t.fill["credit_code"] = p.credit_code
        if t.obj is not None:  # a new person: apply straight away
            for key, value in t.fill.items():
                if key == "id_number":
                    t.obj.set_id_number(value)
                else:
                    setattr(t.obj, key, value)
            t.fill = {}

    def _plan_people(self) -> None:
        claimed: dict[int, str] = {}
        pending_own: dict[tuple, dict] = {}
        for r in self.rows:
            p = r.person
            if p is None:
                continue
            unit = self.units[r.unit_key]
            t = self._resolve(p, unit, claimed)
            self._complete(t, p)
            t.home_unit = t.home_unit or unit
            if p.lives_here and t.resident_unit is None:
                t.resident_unit = unit
            existing_pk = t.rec["id"] if t.rec else None
            link = (unit.existing["id"], existing_pk) if unit.existing and existing_pk else None
            if p.relation == Residence.Relation.OWNER:
                current = self.ownerships.get(link) if link else None
                if current is None:
                    pending_own[(r.unit_key, id(t))] = entry = {
                        "unit": unit,
                        "target": t,
                        "designated": bool(p.designated_voter),
                        "developer_status": p.developer_status or "",
                    }
                    self.new_ownerships.append(entry)
                else:
                    change = {}
                    if p.designated_voter is not None and p.designated_voter != current["is_designated_voter"]:
                        change["is_designated_voter"] = p.designated_voter
                    if p.developer_status is not None and p.developer_status != current["developer_status"]:
                        change["developer_status"] = p.developer_status
                    if change:
                        self.own_updates[current["id"]] = change
                if p.designated_voter:
                    self.designate[r.unit_key] = (t, current["id"] if current else None)
            if p.lives_here:
                current = self.residences.get(link) if link else None
                if current is None:
                    self.new_residences.append({"unit": unit, "target": t, "relation": p.relation})
                elif current["relation"] != p.relation:
                    self.res_updates[current["id"]] = p.relation

    def summary(self) -> dict[str, int]:
        matched = [t for t in self.records.values() if t.home_unit is not None]  # existing people the rows name
        return {
            "buildings_new": sum(1 for k in self.new_nodes if k[0] == "b"),
            "entrances_new": sum(1 for k in self.new_nodes if k[0] == "e"),
            "units_new": sum(1 for u in self.units.values() if not u.existing),
            "units_updated": sum(1 for u in self.units.values() if u.existing and u.changes),
            "units_unchanged": sum(1 for u in self.units.values() if u.existing and not u.changes),
            "persons_new": len(self.targets),
            "persons_matched": len(matched),
            "persons_updated": sum(1 for t in matched if t.fill),
            "ownerships_new": len(self.new_ownerships),
            "ownerships_updated": len(self.own_updates),
            "residences_new": len(self.new_residences),
            "residences_updated": len(self.res_updates),
        }

    # Writing (inside the action's transaction).
    def write(self, *, actor, sha256: str) -> list[int]:
        audit_ids: list[int] = []

        def log(step: str, ids: Sequence, **extra) -> None:
            for i, chunk in enumerate(_chunks(list(ids), AUDIT_BATCH)):
                entry = audit.record(
                    f"registry.import_roster.{step}",
                    self.compound,
                    actor=actor,
                    changes={"sha256": sha256, "batch": i, "ids": list(chunk), **extra},
                )
                audit_ids.append(entry.pk)

        levels = {lv.code: lv for lv in AreaLevel.objects.filter(code__in=("building", "entrance"))}
        made: dict[tuple, AreaNode] = {}
        for key, (parent_key, name, level) in self.new_nodes.items():
            if parent_key is None:
                parent = self.compound
            else:
                parent = made.get(parent_key) or AreaNode.objects.get(pk=self.existing_node(parent_key)["id"])
            made[key] = actions.create_area_node(actor=actor, parent=parent, level=levels[level], name=name)

        def node_of(key: tuple[str, str, str]) -> tuple[int, str]:
            nkey = ("e", key[0], key[1]) if key[1] else ("b", key[0])
            if nkey in made:
                return made[nkey].pk, made[nkey].path
            node = self.existing_node(nkey)
            return node["id"], node["path"]

        new_units = [u for u in self.units.values() if not u.existing]
        for u in new_units:
            node_id, path = node_of(u.key)
            u.obj = Unit(
                node_id=node_id,
                compound=self.compound,
                path=path,
                number=u.key[2],
                usage=u.values.get("usage", Unit.Usage.RESIDENTIAL),
                **{f: u.values.get(f) for f in ("floor", *AREA_FIELDS)},
            )
        Unit.objects.bulk_create([u.obj for u in new_units], batch_size=BATCH)
        log("create_units", [u.obj.pk for u in new_units])
        changed = [u for u in self.units.values() if u.existing and u.changes]
        if changed:
            objs = []
            for u in changed:
                obj = Unit(pk=u.existing["id"], **{f: u.existing[f] for f in UNIT_FIELDS})
                for f, v in u.changes.items():
                    setattr(obj, f, v)
                objs.append(obj)
            Unit.objects.bulk_update(objs, list(UNIT_FIELDS), batch_size=BATCH)
            log(
                "update_units",
                [u.existing["id"] for u in changed],
                fields=sorted({f for u in changed for f in u.changes}),
            )

        def unit_path(u: _UnitPlan) -> str:
            return u.existing["path"] if u.existing else u.obj.path

        for t in self.targets:
            t.obj.home_path = unit_path(t.resident_unit or t.home_unit)
        Person.objects.bulk_create([t.obj for t in self.targets], batch_size=BATCH)
        log("create_persons", [t.obj.pk for t in self.targets])
        filled = [t for t in self.records.values() if t.fill or (t.home_unit and not t.rec["home_path"])]
        if filled:
            objs, fields = [], set()
            for t in filled:
                obj = Person(
                    pk=t.rec["id"],
                    phone=t.rec["phone"],
                    birth_date=t.rec["birth_date"],
                    credit_code=t.rec["credit_code"],
                    home_path=t.rec["home_path"],
                )
                obj.id_number_enc, obj.id_number_hash = "", t.rec["id_number_hash"]
                for key, value in t.fill.items():
                    if key == "id_number":
                        obj.set_id_number(value)
                        fields |= {"id_number_enc", "id_number_hash", "birth_date"}
                    else:
                        setattr(obj, key, value)
                        fields.add(key)
                if not obj.home_path and t.home_unit:
                    obj.home_path = unit_path(t.resident_unit or t.home_unit)
                    fields.add("home_path")
                objs.append(obj)
            # Fields not filled for one person keep their loaded value, so one bulk_update over the union is safe,
            # except the encrypted ID, which is only written for people who get one.
            with_id = [o for o in objs if o.id_number_enc]
            plain = [o for o in objs if not o.id_number_enc]
            other = sorted(fields - {"id_number_enc", "id_number_hash"})
            if with_id:
                Person.objects.bulk_update(
                    with_id, sorted(fields | {"id_number_enc", "id_number_hash"}), batch_size=BATCH
                )
            if plain and other:
                Person.objects.bulk_update(plain, other, batch_size=BATCH)
            # Field names only: the values are personal.
            log(
                "update_persons",
                [o.pk for o in objs],
                fields=sorted({k for t in filled for k in t.fill} | {"home_path"}),
            )

        # One designated voter per unit (a database constraint): clear the old one before setting the new.
        keep = {own_id for _t, own_id in self.designate.values() if own_id}
        clear_units = [self.units[k].existing["id"] for k in self.designate if self.units[k].existing]
        cleared: list[int] = []
        for chunk in _chunks(clear_units, BATCH):
            qs = Ownership.objects.filter(unit_id__in=chunk, until__isnull=True, is_designated_voter=True).exclude(
                pk__in=keep
            )
            ids = list(qs.values_list("pk", flat=True))
            Ownership.objects.filter(pk__in=ids).update(is_designated_voter=False)
            cleared += ids
        for own_id in cleared:
            self.own_updates.pop(own_id, None)
        if self.own_updates:
            by_id = {o["id"]: o for o in self.ownerships.values()}
            objs = []
            for own_id, change in self.own_updates.items():
                current = by_id[own_id]
                objs.append(
                    Ownership(
                        pk=own_id,
                        is_designated_voter=change.get("is_designated_voter", current["is_designated_voter"]),
                        developer_status=change.get("developer_status", current["developer_status"]),
                    )
                )
            Ownership.objects.bulk_update(objs, ["is_designated_voter", "developer_status"], batch_size=BATCH)
        if cleared or self.own_updates:
            log("update_ownerships", sorted(set(cleared) | set(self.own_updates)))
        own_objs = [
            Ownership(
                unit_id=e["unit"].pk,
                person_id=e["target"].pk,
                is_designated_voter=e["designated"],
                developer_status=e["developer_status"],
            )
            for e in self.new_ownerships
        ]
        Ownership.objects.bulk_create(own_objs, batch_size=BATCH)
        log("create_ownerships", [o.pk for o in own_objs])

        res_objs = [
            Residence(unit_id=e["unit"].pk, person_id=e["target"].pk, relation=e["relation"])
            for e in self.new_residences
        ]
        Residence.objects.bulk_create(res_objs, batch_size=BATCH)
        log("create_residences", [o.pk for o in res_objs])
        if self.res_updates:
            objs = [Residence(pk=pk, relation=relation) for pk, relation in self.res_updates.items()]
            Residence.objects.bulk_update(objs, ["relation"], batch_size=BATCH)
            log("update_residences", sorted(self.res_updates))
        touched = sorted({o.unit_id for o in res_objs})
        count = (
            Residence.objects.filter(unit=OuterRef("pk"), until__isnull=True)
            .values("unit")
            .annotate(n=Count("pk"))
            .values("n")
        )
        for chunk in _chunks(touched, BATCH):
            Unit.objects.filter(pk__in=chunk).update(
                resident_count=Coalesce(Subquery(count, output_field=IntegerField()), Value(0))
            )
        return audit_ids


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def import_roster(
    compound: AreaNode, data: bytes, *, actor, dry_run: bool = True, skip_bad_rows: bool = False
) -> ImportReport:
    """Import a roster file into one compound (楼院). A dry run validates and counts but writes nothing.

    Without `skip_bad_rows`, a file with any bad row writes nothing; with it, the good rows are written and the
    bad ones listed. Raises PermissionDenied (no `registry.import_roster` on the compound), RosterFileError
    (the file cannot be read) or ValueError (the node is not a compound).

    The file is read and checked before any transaction: it needs no database, and on SQLite a transaction holds
    the one write lock from its start (10,000 xlsx rows take ~7 s to read and check). A dry run only reads, so
    it runs no transaction at all; the writes run in one (`_write`), all or nothing.
    """
    require(actor, "registry.import_roster", compound)
    if not compound.level.is_compound:
        raise ValueError(f"{compound} is not a compound")
    parsed = parse_table(read_table(data))
    if dry_run:
        report, _plan = _plan_report(compound, data, parsed, dry_run=True, skip_bad_rows=skip_bad_rows)
        return report
    return _write(compound, data, parsed, actor=actor, skip_bad_rows=skip_bad_rows)


def _plan_report(compound: AreaNode, data: bytes, parsed: Parsed, *, dry_run: bool, skip_bad_rows: bool):
    plan = _Plan(compound, [] if parsed.fatal else parsed.good_rows)
    report = ImportReport(
        compound_id=compound.pk,
        compound_name=compound.name,
        sha256=file_digest(data),
        size=len(data),
        total_rows=parsed.total_rows,
        errors=parsed.errors,
        warnings=parsed.warnings,
        bad_rows=sorted(parsed.bad_rows),
        summary=plan.summary(),
        dry_run=dry_run,
        skip_bad_rows=skip_bad_rows,
        fatal=parsed.fatal,
    )
    return report, plan


@transaction.atomic
def _write(compound: AreaNode, data: bytes, parsed: Parsed, *, actor, skip_bad_rows: bool) -> ImportReport:
    # Matched against the database inside the transaction, so what is written agrees with what was read.
    report, plan = _plan_report(compound, data, parsed, dry_run=False, skip_bad_rows=skip_bad_rows)
    if not report.can_write:
        return report
    plan.write(actor=actor, sha256=report.sha256)
    actions.refresh_stats(compound)
    entry = audit.record(
        "registry.import_roster",
        compound,
        actor=actor,
        changes={
            "sha256": report.sha256,
            "size": len(data),
            "rows": parsed.total_rows,
            "skipped_rows": len(parsed.bad_rows),
            **report.summary,
        },
    )
    report.written, report.skipped_rows, report.audit_id = True, sorted(parsed.bad_rows), entry.pk
    return report
