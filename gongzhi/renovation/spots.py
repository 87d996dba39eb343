"""Where a click on a plan (平面图) lands, in percent of the plan's width and height from its left and top edges.

No Django here: the arithmetic is tested on its own. A page without JavaScript shows the plan at its own pixel
size, so the `spot.x`/`spot.y` an `<input type="image">` sends are the plan's pixels; plan.js, where it runs,
computes the percents from the picture as drawn and sends those instead.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


def click_to_percent(x: object, y: object, width: int, height: int) -> tuple[Decimal, Decimal] | None:
    """The click at pixel (x, y) of a `width` × `height` picture as (x %, y %) with two decimals; None when it is
    not a number or lies outside the picture."""
    try:
        px, py = Decimal(str(x).strip()), Decimal(str(y).strip())
    except (InvalidOperation, ValueError):
        return None
    if width <= 0 or height <= 0 or not (px.is_finite() and py.is_finite()):
        return None
    if not (0 <= px <= width and 0 <= py <= height):
        return None
    return (
        (px * 100 / width).quantize(CENT, ROUND_HALF_UP),
        (py * 100 / height).quantize(CENT, ROUND_HALF_UP),
    )
