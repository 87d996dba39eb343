"""Personal data rules: validation and masking of phones, ID numbers and names (no Django import).

Masking follows the common convention (GB/T 35273 §7.2 "个人信息展示限制"): phone 3+4 (138****1234),
ID number 6+4, name keeps the surname. It is applied on the server, before anything is rendered.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


class PiiError(ValueError):
    """A personal-data value that fails validation; .zh and .en carry the message."""

    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


def normalize_mobile(value: str) -> str:
    """Return an 11-digit mainland mobile number, accepting +86/86 prefixes, spaces and dashes."""
    raw = re.sub(r"[\s\-()]", "", value or "")
    if raw.startswith("+86"):
        raw = raw[3:]
    elif raw.startswith("86") and len(raw) == 13:
        raw = raw[2:]
    if not MOBILE_RE.match(raw):
        raise PiiError(
            "手机号码应为11位、以1开头的大陆手机号", "must be an 11-digit mainland mobile number starting with 1"
        )
    return raw


def normalize_phone(value: str) -> str:
    """A mobile number, or a landline such as 0371-68989517 (kept with its dash)."""
    raw = re.sub(r"[\s()]", "", value or "")
    try:
        return normalize_mobile(raw)
    except PiiError:
        if LANDLINE_RE.match(raw):
            # Area codes 010 and 02x have three digits, all others (0371 …) four.
            cut = 3 if raw[1] in "12" else 4
            return raw if "-" in raw else f"{raw[:cut]}-{raw[cut:]}"
        raise


CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")


def china_today() -> date:
    """Today's date in China (UTC+8, no daylight saving) whatever the server's clock zone is.

    A birth date "in the future" is judged by the residents' calendar, not the machine's: a server on UTC
    would otherwise refuse a baby born this morning in Zhengzhou until 08:00.
    """
    return datetime.now(CHINA_STANDARD_TIME).date()


def id_check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalize_resident_id(value: str) -> str:
    """Validate an 18-digit resident identity number (GB 11643-1999): format, birth date and check digit."""
    raw = (value or "").strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", raw):
        raise PiiError("身份证号码应为18位（最后一位可为X）", "must be 18 characters: 17 digits and a digit or X")
    try:
        born = date(int(raw[6:10]), int(raw[10:12]), int(raw[12:14]))
    except ValueError:
        raise PiiError("身份证号码中的出生日期无效", "the birth date inside the ID number is not a real date") from None
    if born.year < 1880 or born > china_today():
        raise PiiError("身份证号码中的出生日期不合理", "the birth date inside the ID number is out of range")
    if id_check_digit(raw[:17]) != raw[17]:
        raise PiiError("身份证号码校验位不正确", "the check digit of the ID number is wrong")
    return raw


def birth_date_from_id(id_number: str) -> date:
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    digits = value.replace("-", "")
    if len(digits) < 7:
        return "*" * len(value)
    # 3 + 4 for a mobile number; a short landline number keeps at least four digits hidden.
    tail = min(4, len(digits) - 4)
    head = min(3, len(digits) - 4 - tail)
    return f"{digits[:head]}****{digits[len(digits) - tail :]}"


def mask_id_number(value: str | None) -> str:
    if not value:
        return ""
    return f"{value[:6]}********{value[-4:]}" if len(value) >= 10 else "*" * len(value)


def mask_name(value: str | None) -> str:
    """Keep the surname: 张三 → 张*, 欧阳娜娜 → 欧阳**; Latin names keep the first letter."""
    if not value:
        return ""
    if value.isascii():
        return value[0] + "*" * (len(value) - 1)
    compound = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐")
    keep = 2 if value[:2] in compound and len(value) > 2 else 1
    return value[:keep] + "*" * max(1, len(value) - keep)


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
