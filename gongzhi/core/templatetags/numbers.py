"""Numbers as people write them: areas and weights to their precision, money to the fen, percentages rounded.

    {% load numbers %}
    {{ unit.area_registered|area }}      → 86.10        (square metres, 2 places, grouped: 12,345.60)
    {{ line.amount|amount }}             → 1,234.50     (yuan to the fen)
    {{ item.weight_kg|weight }}          → 35.5         (kilograms, 1 place)
    {{ share|percent }}                  → 66.67%       (a fraction 0..1, rounded half-up)

None and "" show as "—". Grouping and the decimal mark follow the page's language. Never the raw Decimal of a
database sum ("886.100000000000").
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

from django import template
from django.utils import formats

register = template.Library()

DASH = "—"


def fixed(value, places: int) -> str:
    """`value` rounded half-up to `places` decimals, grouped for the current language; "—" when absent."""
    if value is None or value == "":
        return DASH
    try:
        if isinstance(value, Fraction):
            number = Decimal(value.numerator) / Decimal(value.denominator)
        else:
            number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return str(value)
    number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return formats.number_format(number, decimal_pos=places, use_l10n=True, force_grouping=True)


@register.filter
def area(value) -> str:
    return fixed(value, 2)


@register.filter
def amount(value) -> str:
    return fixed(value, 2)


@register.filter
def weight(value) -> str:
    return fixed(value, 1)


@register.filter
def volume(value) -> str:
    return fixed(value, 2)


@register.filter
def percent(value, places: int = 2) -> str:
    if value is None or value == "":
        return DASH
    try:
        ratio = value if isinstance(value, Fraction) else Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return str(value)
    return fixed(ratio * 100, int(places)) + "%"
