from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()


@register.filter
def percent(value) -> str:
    """A share (0..1, Decimal) as a percentage with one decimal: Decimal("0.6667") → "66.7%"; None → "—"."""
    if value is None:
        return "—"
    return f"{(Decimal(value) * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"
