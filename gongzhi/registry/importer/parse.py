"""Layer 2, parsing without the database: every row validated, the rows of one unit together, every bad row reported."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from gongzhi.core import pii
from gongzhi.core.spreadsheets import unescape
from gongzhi.registry.importer.formats import (
    _CREDIT_ALPHABET,
    _CREDIT_WEIGHTS,
    AREA_FIELDS,
    COLUMN,
    DEVELOPER,
    HEADER_INDEX,
    KINDS,
    NO,
    RELATIONS,
    REQUIRED_HEADERS,
    UNIT_COLUMNS,
    USAGES,
    YES,
    RowError,
    _header_key,
)
from gongzhi.registry.models import Person, Residence

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
    if born.year < 1880 or born > pii.china_today():
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
