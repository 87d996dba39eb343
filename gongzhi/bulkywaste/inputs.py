"""What a booking asks for, checked before anything is written: items, addresses, contacts, time windows.

Nothing here writes to the database; actions call these first, so bad input is refused with nothing half-done.
`BookingError` names the field (and the row of a repeated field) in Chinese and English.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils.translation import get_language

from gongzhi.bulkywaste import sizing
from gongzhi.bulkywaste.models import WINDOW_TIMES, CatalogueEntry, Window
from gongzhi.core import pii
from gongzhi.registry.models import AreaNode, Unit

MAX_ITEMS = 200  # a compound-wide booking may list many items
MAX_PHOTOS = 5
DEFAULT_VOLUME_M3 = Decimal("0.3")  # a described item without a volume: a conservative estimate for capacity
DEFAULT_WEIGHT_KG = Decimal("20")


class BookingError(ValueError):
    """Bad input or a rule that refuses the change; names the field, Chinese first."""

    def __init__(self, zh: str, en: str, field: str | None = None):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en, self.field = zh, en, field

    @property
    def shown(self) -> str:
        """The message in the page's language (English pages get the English, every other page the Chinese)."""
        return self.en if (get_language() or "").startswith("en") else self.zh


class RatingError(BookingError):
    pass


# ------------------------------------------------------------------------------------------------ items


@dataclass
class ItemSpec:
    """An item as asked for: a catalogue entry (measures default to its typical ones) or a description."""

    entry: CatalogueEntry | None = None
    description: str = ""
    category: str = ""
    quantity: int = 1
    weight_kg: Decimal | None = None
    volume_m3: Decimal | None = None
    length_m: Decimal | None = None
    integral: bool = True

    @property
    def name(self) -> str:
        return self.description or (self.entry.name if self.entry else "")

    def measures(self) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
        e = self.entry
        return (
            self.weight_kg if self.weight_kg is not None else (e.typical_weight_kg if e else None),
            self.volume_m3 if self.volume_m3 is not None else (e.typical_volume_m3 if e else None),
            self.length_m if self.length_m is not None else (e.typical_length_m if e else None),
        )

    def sizing_category(self) -> sizing.Category:
        code = self.category or (self.entry.category if self.entry else "")
        try:
            return sizing.Category(code)
        except ValueError:
            raise BookingError("请选择物品类别", "choose the item's category", "category") from None


def decide(spec: ItemSpec) -> sizing.SizingDecision:
    """The sizing decision for an item (Zhengzhou's rule, `sizing.classify`)."""
    weight, volume, length = spec.measures()
    try:
        return sizing.classify(spec.sizing_category(), weight, volume, length, integral=spec.integral)
    except ValueError as e:
        field = next((f for f in ("weight_kg", "volume_m3", "length_m") if f in str(e)), None)
        raise BookingError("尺寸或重量不能为负数", "measures must not be negative", field) from None


def check_items(specs: Sequence[ItemSpec]) -> None:
    """Refuse an empty list, bad quantities and anything that is not bulky waste, naming the item."""
    if not specs:
        raise BookingError("请至少添加一件物品", "add at least one item", "items")
    if len(specs) > MAX_ITEMS:
        raise BookingError(f"一次最多预约{MAX_ITEMS}项物品", f"at most {MAX_ITEMS} item lines per booking", "items")
    for n, spec in enumerate(specs):
        if not spec.name.strip():
            raise BookingError("请写明物品名称", "describe the item", f"items[{n}].description")
        if not 1 <= spec.quantity <= 500:
            raise BookingError("数量应为1到500", "quantity must be between 1 and 500", f"items[{n}].quantity")
        d = decide(spec)
        if not d.is_bulky:
            raise BookingError(
                f"“{spec.name}”不能预约大件垃圾上门回收：{d.reason_zh}",
                f"“{spec.entry.name_en if spec.entry else spec.name}” cannot be booked for bulky-waste "
                f"collection: {d.reason_en}",
                f"items[{n}]",
            )


def load_of(specs: Sequence[ItemSpec]) -> tuple[int, Decimal, int]:
    """(litres, kg, pieces) of a list of items, estimating what was not measured."""
    volume, weight, pieces = Decimal(0), Decimal(0), 0
    for s in specs:
        w, v, _length = s.measures()
        volume += (v if v is not None else DEFAULT_VOLUME_M3) * s.quantity
        weight += (w if w is not None else DEFAULT_WEIGHT_KG) * s.quantity
        pieces += s.quantity
    return int((volume * 1000).to_integral_value(rounding="ROUND_CEILING")), weight, pieces


# ---------------------------------------------------------------------------------------------- address


@dataclass
class Address:
    text: str
    latitude: Decimal
    longitude: Decimal
    path: str
    unit: Unit | None = None
    compound: AreaNode | None = None


def _coords(node: AreaNode) -> tuple[Decimal, Decimal]:
    profile = getattr(node, "profile", None)
    if profile is None or profile.latitude is None or profile.longitude is None:
        raise BookingError(
            f"{node.name}尚未登记坐标，请填写地址和坐标", f"{node.name} has no coordinates on record", "address"
        )
    return profile.latitude, profile.longitude


def address_of_unit(unit: Unit) -> Address:
    """The unit's address, located at its compound's coordinates (WGS-84)."""
    names = dict(AreaNode.objects.filter(pk__in=unit.node.ids_on_path).values_list("pk", "name"))
    compound = unit.compound
    below = [names[i] for i in unit.node.ids_on_path if i in names and i not in compound.ids_on_path]
    lat, lon = _coords(compound)
    text = " ".join([compound.address or compound.name, *below, unit.number])
    return Address(text, lat, lon, unit.path, unit=unit, compound=compound)


def address_of_compound(node: AreaNode) -> Address:
    lat, lon = _coords(node)
    return Address(node.address or node.name, lat, lon, node.path, compound=node)


def free_address(text: str, latitude, longitude, node: AreaNode) -> Address:
    """A free-text address with WGS-84 coordinates, inside an area node (for scope and capacity)."""
    text = (text or "").strip()
    if not text:
        raise BookingError("地址不能为空", "address is required", "address")
    lat, lon = parse_coords(latitude, longitude)
    return Address(text[:200], lat, lon, node.path)


def parse_coords(latitude, longitude) -> tuple[Decimal, Decimal]:
    try:
        lat, lon = Decimal(str(latitude)), Decimal(str(longitude))
    except Exception:  # noqa: BLE001 - any unparsable value
        raise BookingError("坐标应为数字（WGS-84）", "coordinates must be numbers (WGS-84)", "latitude") from None
    if not (lat.is_finite() and lon.is_finite()):
        raise BookingError("坐标应为数字（WGS-84）", "coordinates must be numbers (WGS-84)", "latitude")
    if not (Decimal(-90) <= lat <= 90 and Decimal(-180) <= lon <= 180):
        raise BookingError("坐标超出范围（WGS-84）", "coordinates out of range (WGS-84)", "latitude")
    return lat.quantize(Decimal("0.000001")), lon.quantize(Decimal("0.000001"))


# ----------------------------------------------------------------------------------------- contact, window


def check_contact(name: str, phone: str) -> tuple[str, str]:
    """The contact's name and phone, normalised; refused with the field named."""
    name = (name or "").strip()
    if not name:
        raise BookingError("联系人不能为空", "contact name is required", "contact_name")
    try:
        phone = pii.normalize_phone(phone)
    except pii.PiiError as e:
        raise BookingError(f"联系电话：{e.zh}", f"contact phone: {e.en}", "contact_phone") from None
    return name[:50], phone


def window_times(window: str, start: time | None, end: time | None) -> tuple[time, time]:
    if window in WINDOW_TIMES:
        return WINDOW_TIMES[Window(window)]
    if window != Window.CUSTOM:
        raise BookingError("请选择上门时段", "choose a time window", "window")
    if start is None or end is None or not (time(6, 0) <= start < end <= time(21, 0)):
        raise BookingError(
            "指定时段应在6:00到21:00之间，且开始早于结束",
            "a custom window must lie within 06:00–21:00 and start before it ends",
            "window_start",
        )
    if (datetime.combine(date.min, end) - datetime.combine(date.min, start)) < timedelta(hours=1):
        raise BookingError("指定时段至少1小时", "a custom window must be at least one hour long", "window_end")
    return start, end
