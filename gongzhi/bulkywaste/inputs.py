"""What a booking asks for, checked before anything is written: items, addresses, contacts, time windows.

Nothing here writes to the database; actions call these first, so bad input is refused with nothing half-done.
`BookingError` names the field (and the row of a repeated field) in Chinese and English.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Avg

from gongzhi.bulkywaste import limits, sizing
from gongzhi.bulkywaste.models import WINDOW_TIMES, CatalogueEntry, Window
from gongzhi.core import pii
from gongzhi.core.errors import BilingualError
from gongzhi.registry.models import AreaNode, CompoundProfile, Unit

MAX_ITEMS = 200  # a compound-wide booking may list many items
MAX_PHOTOS = 5
DEFAULT_VOLUME_M3 = Decimal("0.3")  # a described item without a volume: a conservative estimate for capacity
DEFAULT_WEIGHT_KG = Decimal("20")


class BookingError(BilingualError):
    """Bad input or a rule that refuses the change; names the field, Chinese first."""


class RatingError(BookingError):
    pass


class DuplicateBooking(BookingError):
    """The same address already has an open booking in an overlapping half-day: the caller decides to merge the
    items into it or to book anyway (`on_duplicate="merge"` / `"continue"`). Nothing was written."""

    def __init__(self, existing: list):
        refs = "、".join(b.reference for b in existing)
        super().__init__(
            f"该地址同一时段已有预约（{refs}），可以把物品合并到已有预约，或仍然新建",
            f"this address already has a booking in the same half-day ({', '.join(b.reference for b in existing)}): "
            "merge the items into it, or book anyway",
            "on_duplicate",
        )
        self.existing = existing


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

    @property
    def display_name(self) -> str:
        """The name in the page's language (a described item as written)."""
        return self.description or (self.entry.display_name if self.entry else "")

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
    category = spec.sizing_category()  # a BookingError of its own (the category), not a measure's
    try:
        return sizing.classify(category, weight, volume, length, integral=spec.integral)
    except ValueError as e:
        field = next((f for f in ("weight_kg", "volume_m3", "length_m") if f in str(e)), None)
        raise BookingError("尺寸或重量不能为负数", "measures must not be negative", field) from None


class BookingErrors(BookingError):
    """Several problems at once (every item row, the contact, the window), so a form can show them all together.

    Behaves as the first problem for callers that show one message; `errors` lists all of them."""

    def __init__(self, errors: Sequence[BookingError]):
        first = errors[0]
        super().__init__(first.zh, first.en, first.field)
        self.errors = list(errors)


def raise_all(errors: Sequence[BookingError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise BookingErrors(errors)


def _measure_problems(n: int, spec: ItemSpec, lim: limits.Limits) -> list[BookingError]:
    name, out = spec.name or f"第{n + 1}项", []
    for field, value, top, zh_unit, en_unit, zh_what, en_what in (
        ("weight_kg", spec.weight_kg, lim.item_kg, "千克", "kg", "每件重量", "weight per piece"),
        ("volume_m3", spec.volume_m3, lim.item_m3, "立方米", "m³", "每件体积", "volume per piece"),
        ("length_m", spec.length_m, lim.item_length_m, "米", "m", "最长边", "longest side"),
    ):
        if value is None:
            continue
        if value < 0:
            out.append(BookingError(f"“{name}”{zh_what}不能为负数", f"“{name}”: {en_what} must not be negative", field))
        elif value > top:
            out.append(
                BookingError(
                    f"“{name}”{zh_what}不能超过{top:f}{zh_unit}，请核对",
                    f"“{name}”: {en_what} cannot exceed {top:f} {en_unit}; please check it",
                    field,
                )
            )
    return [BookingError(e.zh, e.en, f"items[{n}].{e.field}") for e in out]


def item_problems(specs: Sequence[ItemSpec]) -> list[BookingError]:
    """Every problem of a list of items, each naming its row (`items[n].field`) — empty if they can be booked."""
    if not specs:
        return [BookingError("请至少添加一件物品", "add at least one item", "items")]
    if len(specs) > MAX_ITEMS:
        return [BookingError(f"一次最多预约{MAX_ITEMS}项物品", f"at most {MAX_ITEMS} item lines per booking", "items")]
    lim = limits.limits()
    out: list[BookingError] = []
    for n, spec in enumerate(specs):
        if not spec.name.strip():
            out.append(BookingError("请写明物品名称", "describe the item", f"items[{n}].description"))
            continue
        if not 1 <= spec.quantity <= lim.quantity:
            out.append(
                BookingError(
                    f"“{spec.name}”数量应为1到{lim.quantity}",
                    f"“{spec.name}”: the quantity must be between 1 and {lim.quantity}",
                    f"items[{n}].quantity",
                )
            )
        measures = _measure_problems(n, spec, lim)
        out += measures
        if measures:
            continue
        try:
            d = decide(spec)
        except BookingError as e:
            out.append(BookingError(e.zh, e.en, f"items[{n}].{e.field}" if e.field else f"items[{n}]"))
            continue
        if not d.is_bulky:
            out.append(
                BookingError(
                    f"“{spec.name}”不能预约大件垃圾上门回收：{d.reason_zh}",
                    f"“{spec.entry.name_en if spec.entry else spec.name}” cannot be booked for bulky-waste "
                    f"collection: {d.reason_en}",
                    f"items[{n}]",
                )
            )
    return out


def check_items(specs: Sequence[ItemSpec]) -> None:
    """Refuse an empty list, bad or implausible quantities and measures (limits in settings, see `limits`) and
    anything that is not bulky waste — all problems at once (`BookingErrors`), each naming its row."""
    raise_all(item_problems(specs))


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
    """A free-text address inside an area node (for scope and capacity), located by WGS-84 coordinates picked on a
    map or given by the phone — or, when none were given, near the node (`approximate_location`): people are
    never asked to type coordinates."""
    text = (text or "").strip()
    if not text:
        raise BookingError("地址不能为空", "address is required", "address")
    if latitude in (None, "") or longitude in (None, ""):
        lat, lon = approximate_location(node)
    else:
        lat, lon = parse_coords(latitude, longitude)
    return Address(text[:200], lat, lon, node.path)


def approximate_location(node: AreaNode) -> tuple[Decimal, Decimal]:
    """Where a node is, roughly: its own coordinates, else the middle of its compounds' (one aggregate query)."""
    profile = getattr(node, "profile", None)
    if profile is not None and profile.latitude is not None and profile.longitude is not None:
        return profile.latitude, profile.longitude
    mid = CompoundProfile.objects.filter(
        node__path__startswith=node.path, latitude__isnull=False, longitude__isnull=False
    ).aggregate(lat=Avg("latitude"), lon=Avg("longitude"))
    if mid["lat"] is None:
        raise BookingError(
            f"无法确定{node.name}的位置，请在地图上标出地点，或拨打热线",
            f"the location of {node.name} is not on record: mark the place on the map, or call the hotline",
            "address",
        )
    return Decimal(mid["lat"]).quantize(Decimal("0.000001")), Decimal(mid["lon"]).quantize(Decimal("0.000001"))


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
    """The window's start and end. Times typed with a fixed half-day are refused rather than dropped: a window
    that ends before it starts is never saved as a default morning."""
    if start is not None and end is not None and end <= start:
        raise BookingError("结束时间应晚于开始时间", "the window must end after it starts", "window_end")
    if window in WINDOW_TIMES:
        if (start, end) not in ((None, None), WINDOW_TIMES[Window(window)]):
            raise BookingError(
                "填写了起止时间，请选择“指定时段”，或清空时间",
                "times were given: choose a custom window, or clear the times",
                "window",
            )
        return WINDOW_TIMES[Window(window)]
    if window != Window.CUSTOM:
        raise BookingError("请选择上门时段", "choose a time window", "window")
    if start is None or end is None:
        raise BookingError("指定时段须填写开始和结束时间", "a custom window needs its start and end", "window_start")
    if not (time(6, 0) <= start and end <= time(21, 0)):
        raise BookingError("指定时段应在6:00到21:00之间", "a custom window must lie within 06:00–21:00", "window_start")
    if (datetime.combine(date.min, end) - datetime.combine(date.min, start)) < timedelta(hours=1):
        raise BookingError("指定时段至少1小时", "a custom window must be at least one hour long", "window_end")
    return start, end
