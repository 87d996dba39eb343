"""Synthetic but valid personal data for the demo and the city-scale generator (seeded, no Django import).

Names come from the most common surnames and given-name characters; mobile numbers use the 170-00 block
(valid mainland format, recognisably not real); ID numbers carry a real Erqi area code, a real birth date
and a correct GB 11643 check digit, so every validator accepts them.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from gongzhi.core.pii import id_check_digit

# The most common surnames, roughly in order of frequency (weights fall off with rank).
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_SURNAME_WEIGHTS = [1 / (i + 8) for i in range(len(SURNAMES))]
GIVEN_OLD = "建国秀英桂兰玉兰淑珍德明国华志强凤英春华爱国文华振华桂芝秀兰保国永庆学文新民红梅丽华建华"
GIVEN_YOUNG = "浩然子涵欣怡宇轩梓萱雨泽一诺思远佳怡俊杰晨曦博文诗涵嘉怡子墨若曦天佑雅琪明轩梦瑶宇航可欣"
# Erqi District and its neighbours in Zhengzhou, for the first six digits of ID numbers.
AREA_CODES = ("410103", "410103", "410103", "410102", "410104", "410105", "410122")
PHONE_PREFIX = "17000"  # 170 00xx xxxx: a valid mobile format, an unassigned-looking block


def surname(rng: random.Random) -> str:
    return rng.choices(SURNAMES, weights=_SURNAME_WEIGHTS)[0]


def given_name(rng: random.Random, born_year: int) -> str:
    pool = GIVEN_OLD if born_year < 1975 else GIVEN_YOUNG
    if rng.random() < 0.7:  # two characters, usually a pair that occurs together
        i = rng.randrange(0, len(pool) - 1, 2)
        return pool[i : i + 2]
    return rng.choice(pool)


def full_name(rng: random.Random, born_year: int, family: str | None = None) -> str:
    return (family or surname(rng)) + given_name(rng, born_year)


def mobile(n: int) -> str:
    """The n-th synthetic mobile number (n < 1,000,000): 17000000001, 17000000002, …"""
    return f"{PHONE_PREFIX}{n:06d}"


def birth_date(rng: random.Random, today: date, *, share_60: float, share_80: float) -> date:
    """A birth date such that about `share_60` of people are 60+ and `share_80` are 80+ on `today`."""
    r = rng.random()
    if r < share_80:
        age = rng.randint(80, 96)
    elif r < share_60:
        age = rng.randint(60, 79)
    else:
        age = rng.randint(18, 59) if rng.random() < 0.85 else rng.randint(1, 17)
    return today - timedelta(days=age * 365 + rng.randint(1, 360))


def id_number(rng: random.Random, born: date, used: set[str]) -> str:
    """A valid 18-digit resident ID number for someone born on `born`, not already in `used`."""
    while True:
        first17 = f"{rng.choice(AREA_CODES)}{born:%Y%m%d}{rng.randint(0, 999):03d}"
        value = first17 + id_check_digit(first17)
        if value not in used:
            used.add(value)
            return value


def unit_areas(rng: random.Random, low: int = 40, high: int = 120) -> dict[str, Decimal]:
    """Areas of one unit from a mix of sources: mostly registered, some surveyed only, some contract only."""
    area = Decimal(rng.randint(low * 100, high * 100)) / 100
    r = rng.random()
    if r < 0.70:
        return {"area_registered": area, "area_surveyed": area + Decimal("0.35")}
    if r < 0.90:
        return {"area_surveyed": area}
    return {"area_contract": area}
