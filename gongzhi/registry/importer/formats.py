"""The roster format: its columns, the values they take, the help sheet and the sample rows; the errors."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from gongzhi.core import pii
from gongzhi.registry.models import Ownership, Person, Residence, Unit

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
