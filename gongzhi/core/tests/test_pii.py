"""Personal data: phone and ID-number validation, and masking that never shows more than it should."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gongzhi.core import pii
from gongzhi.core.pii import PiiError

# --- Phones ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+8613812345678",
        "+86 138 1234 5678",
        "8613812345678",
        "(138)12345678",
    ],
)
def test_mobile_numbers_are_normalised_to_eleven_digits(raw):
    assert pii.normalize_mobile(raw) == "13812345678"


@pytest.mark.parametrize(
    "raw", ["", "12812345678", "1381234567", "138123456789", "23812345678", "1381234567a", "0371-68989517"]
)
def test_bad_mobile_numbers_are_refused_with_chinese_and_english(raw):
    with pytest.raises(PiiError) as exc:
        pii.normalize_mobile(raw)
    assert "手机号码" in exc.value.zh and "mobile" in exc.value.en
    assert str(exc.value) == f"{exc.value.zh} / {exc.value.en}"


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("0371-68989517", "0371-68989517"),
        ("037168989517", "0371-68989517"),  # Zhengzhou: four-digit area code
        ("0371 6898 9517", "0371-68989517"),
        ("01012345678", "010-12345678"),  # Beijing and the 02x cities: three-digit area codes
        ("021-1234567", "021-1234567"),
        ("+86 139 1234 5678", "13912345678"),
    ],
)
def test_landlines_and_mobiles_are_normalised(raw, normal):
    assert pii.normalize_phone(raw) == normal


@pytest.mark.parametrize("raw", ["68989517", "371-68989517", "0371-123", "hello"])
def test_bad_phone_numbers_are_refused(raw):
    with pytest.raises(PiiError):
        pii.normalize_phone(raw)


# --- Resident ID numbers (GB 11643) --------------------------------------------------------------------------

VALID_IDS = ["11010519491231002X", "41010219800101123X", "410103194103020012"]


def make_id(region: str, born: date, seq: int) -> str:
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + pii.id_check_digit(first17)


def test_check_digit_follows_gb_11643():
    assert pii.id_check_digit("11010519491231002") == "X"  # the standard's own example
    assert make_id("410102", date(1980, 1, 1), 123) == "41010219800101123X"


@pytest.mark.parametrize("raw", VALID_IDS)
def test_valid_id_numbers_pass(raw):
    assert pii.normalize_resident_id(raw) == raw


def test_a_lower_case_x_and_spaces_are_accepted():
    assert pii.normalize_resident_id(" 11010519491231002x ") == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "zh"),
    [
        ("410102198001011235", "校验位不正确"),
        ("110105194912310021", "校验位不正确"),
        ("41010219800101123", "应为18位"),
        ("4101021980010112345", "应为18位"),
        ("41010219800101123Y", "应为18位"),
        (make_id("410102", date(1980, 1, 1), 1)[:10] + "0230" + "0011", "出生日期无效"),
        # tomorrow is worked out when the test runs, not when it is collected: a run that crosses midnight
        # would otherwise test "today", which is a valid birth date
        (lambda: make_id("410102", pii.china_today() + timedelta(days=1), 1), "出生日期不合理"),
        (make_id("410102", date(1870, 1, 1), 1), "出生日期不合理"),
    ],
)
def test_bad_id_numbers_name_the_reason(raw, zh):
    if callable(raw):
        raw = raw()
    with pytest.raises(PiiError) as exc:
        pii.normalize_resident_id(raw)
    assert zh in exc.value.zh
    assert exc.value.en


def test_birth_date_and_age_come_from_the_id_number():
    born = pii.birth_date_from_id("410103194103020012")
    assert born == date(1941, 3, 2)
    assert pii.age_on(born, date(2021, 3, 1)) == 79
    assert pii.age_on(born, date(2021, 3, 2)) == 80


ids = st.builds(
    make_id,
    st.from_regex(r"[1-6]\d{5}", fullmatch=True),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    st.integers(0, 999),
)


@settings(max_examples=300, deadline=None)
@given(ids)
def test_any_generated_valid_id_passes(id_number):
    assert pii.normalize_resident_id(id_number) == id_number


@settings(max_examples=300, deadline=None)
@given(ids, st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_is_caught(id_number, position, delta):
    digit = str((int(id_number[position]) + delta) % 10)
    changed = id_number[:position] + digit + id_number[position + 1 :]
    with pytest.raises(PiiError):
        pii.normalize_resident_id(changed)


@settings(max_examples=100, deadline=None)
@given(ids)
def test_a_changed_check_character_is_caught(id_number):
    for check in "0123456789X":
        if check != id_number[17]:
            with pytest.raises(PiiError):
                pii.normalize_resident_id(id_number[:17] + check)


# --- Masking -----------------------------------------------------------------------------------------------


def test_masks_follow_the_usual_convention():
    assert pii.mask_phone("13812345678") == "138****5678"
    assert pii.mask_phone("0371-68989517") == "037****9517"
    assert pii.mask_phone("68989517") == "****9517"  # a short number keeps four digits hidden
    assert pii.mask_phone("") == "" and pii.mask_phone(None) == ""
    assert pii.mask_id_number("41010219800101123X") == "410102********123X"
    assert pii.mask_name("张三") == "张*"
    assert pii.mask_name("李秀英") == "李**"
    assert pii.mask_name("欧阳娜娜") == "欧阳**"
    assert pii.mask_name("Smith") == "S****"


@settings(max_examples=500, deadline=None)
@given(st.from_regex(r"1[3-9]\d{9}", fullmatch=True))
def test_a_masked_mobile_shows_only_its_first_three_and_last_four_digits(phone):
    masked = pii.mask_phone(phone)
    assert masked == phone[:3] + "****" + phone[-4:]
    assert phone not in masked


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789-", max_size=20))
def test_masking_never_reveals_more_than_seven_digits_or_all_of_them(value):
    masked = pii.mask_phone(value)
    shown = re.sub(r"\D", "", masked)
    digits = re.sub(r"\D", "", value)
    assert len(shown) <= 7
    if digits:
        assert len(shown) <= len(digits) - 4 or not shown  # at least four digits always hidden


@settings(max_examples=300, deadline=None)
@given(ids)
def test_a_masked_id_number_hides_the_birth_date(id_number):
    masked = pii.mask_id_number(id_number)
    assert len(masked) == 18
    assert masked[6:14] == "********"
    assert re.sub(r"[^\dX]", "", masked) == id_number[:6] + id_number[-4:]


def test_a_baby_born_today_in_china_is_accepted_whatever_the_server_clock_zone():
    today = pii.china_today()
    assert pii.normalize_resident_id(make_id("410102", today, 1)) == make_id("410102", today, 1)
