"""Limits of bulky-waste input: what is plausible for one item, how often one address may report dumping.

The plausibility limits are settings (a district with bigger furniture or a stricter view changes them there):

GONGZHI_BULKY_MAX_ITEM_KG       heaviest single piece accepted, as booked or as weighed by the crew (default 300)
GONGZHI_BULKY_MAX_ITEM_M3       largest single piece, m³ (default 6)
GONGZHI_BULKY_MAX_ITEM_LENGTH_M longest single piece, m (default 6)
GONGZHI_BULKY_MAX_QUANTITY      most pieces on one item line (default 50)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

REPORTS_PER_HOUR = 5


@dataclass(frozen=True)
class Limits:
    item_kg: Decimal
    item_m3: Decimal
    item_length_m: Decimal
    quantity: int


def limits() -> Limits:
    return Limits(
        item_kg=Decimal(str(getattr(settings, "GONGZHI_BULKY_MAX_ITEM_KG", 300))),
        item_m3=Decimal(str(getattr(settings, "GONGZHI_BULKY_MAX_ITEM_M3", 6))),
        item_length_m=Decimal(str(getattr(settings, "GONGZHI_BULKY_MAX_ITEM_LENGTH_M", 6))),
        quantity=int(getattr(settings, "GONGZHI_BULKY_MAX_QUANTITY", 50)),
    )


def client_key(request) -> str:
    """The rate-limit key of the dumping report: a hash of the client's address (the address is not kept)."""
    ip = request.META.get("REMOTE_ADDR", "")
    return "gz_bulky_dump:" + hashlib.sha256(ip.encode()).hexdigest()[:32]
