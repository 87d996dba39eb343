"""What is bulky waste (大件垃圾判定) — Zhengzhou's rule as a pure function.

郑州市生活垃圾分类 (in force 2019): 废旧家具 and 其他大件垃圾 are bulky when the item is
"重量超过5千克，或者体积超过0.2立方米，或长度超过1米，且整体性强、需拆解处理".  So an item is
bulky waste iff

* it is of a bulky *category* — old furniture (beds, mattresses, sofas, tables, chairs,
  wardrobes, bookcases) or other bulky items (kitchen and sanitary fittings, mobility
  vehicles, large metal, rubber, leather or board items),
* it is integral and needs dismantling (整体性强、需拆解处理), **and**
* it weighs more than 5 kg, **or** measures more than 0.2 m³, **or** is longer than 1 m.

The thresholds are strict ("超过"): exactly 5 kg is not enough.  Measures alone never make
a thing bulky: a heavy sack of kitchen waste is kitchen waste.  Household appliances
(家电) are not bulky waste either: they go to the e-waste recycling route (废旧家电回收).

All arithmetic is on :class:`~decimal.Decimal`; floats are refused so that 0.2 m³ means
exactly 0.2 m³.  This module imports nothing from Django, so it can be tested exhaustively;
the booking app seeds its item catalogue from :data:`CATALOGUE`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gongzhi.core.enums import CodedEnum

__all__ = [
    "CATALOGUE",
    "LENGTH_THRESHOLD_M",
    "VOLUME_THRESHOLD_M3",
    "WEIGHT_THRESHOLD_KG",
    "CatalogueItem",
    "Category",
    "CategoryGroup",
    "DisposalRoute",
    "Measure",
    "SizingDecision",
    "catalogue_item",
    "classify",
]

WEIGHT_THRESHOLD_KG = Decimal(5)
"""An item of a bulky category is bulky if it weighs *more* than this (千克)."""

VOLUME_THRESHOLD_M3 = Decimal("0.2")
"""… or measures *more* than this (立方米)."""

LENGTH_THRESHOLD_M = Decimal(1)
"""… or is *longer* than this (米)."""


class DisposalRoute(CodedEnum):
    """Where an item goes (去向): bulky-waste collection, e-waste, or one of the four bins."""

    BULKY = (
        "bulky",
        "大件垃圾",
        "bulky waste",
        "请预约大件垃圾上门回收",
        "please book a bulky-waste collection",
    )
    E_WASTE = (
        "e_waste",
        "废旧家电回收",
        "e-waste recycling",
        "请交给废旧家电回收渠道（以旧换新或回收企业上门回收）",
        "please hand it to the e-waste recycling route (a trade-in or a recycling company's pickup)",
    )
    KITCHEN = (
        "kitchen",
        "厨余垃圾",
        "kitchen waste",
        "请投放到厨余垃圾桶",
        "please put it in the kitchen-waste bin",
    )
    RECYCLABLE = (
        "recyclable",
        "可回收物",
        "recyclables",
        "请投放到可回收物桶",
        "please put it in the recyclables bin",
    )
    HAZARDOUS = (
        "hazardous",
        "有害垃圾",
        "hazardous waste",
        "请投放到有害垃圾桶",
        "please put it in the hazardous-waste bin",
    )
    OTHER = (
        "other",
        "其他垃圾",
        "other waste",
        "请投放到其他垃圾桶",
        "please put it in the other-waste bin",
    )

    label_zh: str
    label_en: str
    instruction_zh: str
    instruction_en: str


class CategoryGroup(CodedEnum):
    """The family a category belongs to (大类)."""

    FURNITURE = ("furniture", "废旧家具", "old furniture")
    OTHER_BULKY = ("other_bulky", "其他大件垃圾", "other bulky items")
    APPLIANCE = ("appliance", "废旧家电", "household appliances")
    SORTED = ("sorted", "分类垃圾", "ordinary sorted waste")

    label_zh: str
    label_en: str


_F = CategoryGroup.FURNITURE
_B = CategoryGroup.OTHER_BULKY
_R = DisposalRoute


class Category(CodedEnum):
    """Item category (物品类别).

    ``route`` is where an item of the category goes when it qualifies; for bulky
    categories that is :attr:`DisposalRoute.BULKY`, and ``small_route`` is the sorted
    bin for an item of the category that does not qualify (too small, or already
    dismantled).  For the other categories both are the same.
    """

    BED = ("bed", "床", "bed", _F, _R.BULKY, _R.RECYCLABLE)
    MATTRESS = ("mattress", "床垫", "mattress", _F, _R.BULKY, _R.OTHER)
    SOFA = ("sofa", "沙发", "sofa", _F, _R.BULKY, _R.OTHER)
    TABLE = ("table", "桌子", "table", _F, _R.BULKY, _R.RECYCLABLE)
    CHAIR = ("chair", "椅子", "chair", _F, _R.BULKY, _R.RECYCLABLE)
    WARDROBE = ("wardrobe", "衣柜", "wardrobe", _F, _R.BULKY, _R.RECYCLABLE)
    BOOKCASE = ("bookcase", "书柜", "bookcase", _F, _R.BULKY, _R.RECYCLABLE)
    KITCHEN_FITTING = (
        "kitchen_fitting",
        "厨房设施（橱柜等）",
        "kitchen fitting",
        _B,
        _R.BULKY,
        _R.RECYCLABLE,
    )
    SANITARY_FITTING = (
        "sanitary_fitting",
        "卫浴设施（浴缸、马桶、洗手盆等）",
        "sanitary fitting (bathtub, toilet, basin…)",
        _B,
        _R.BULKY,
        _R.OTHER,
    )
    MOBILITY_VEHICLE = (
        "mobility_vehicle",
        "代步车（自行车、轮椅等）",
        "mobility vehicle (bicycle, wheelchair…)",
        _B,
        _R.BULKY,
        _R.RECYCLABLE,
    )
    LARGE_METAL = (
        "large_metal",
        "大型金属制品",
        "large metal item",
        _B,
        _R.BULKY,
        _R.RECYCLABLE,
    )
    RUBBER = ("rubber", "橡胶制品", "rubber item", _B, _R.BULKY, _R.OTHER)
    LEATHER = ("leather", "皮革制品", "leather item", _B, _R.BULKY, _R.OTHER)
    BOARD = ("board", "板材", "board", _B, _R.BULKY, _R.RECYCLABLE)
    HOUSEHOLD_APPLIANCE = (
        "household_appliance",
        "家用电器（电视、冰箱、洗衣机、空调、电脑等）",
        "household appliance (TV, fridge, washing machine, air conditioner, computer…)",
        CategoryGroup.APPLIANCE,
        _R.E_WASTE,
        _R.E_WASTE,
    )
    KITCHEN_WASTE = (
        "kitchen_waste",
        "厨余垃圾",
        "kitchen waste",
        CategoryGroup.SORTED,
        _R.KITCHEN,
        _R.KITCHEN,
    )
    RECYCLABLE = (
        "recyclable",
        "可回收物（纸、塑料、玻璃、金属、织物）",
        "recyclables (paper, plastic, glass, metal, textiles)",
        CategoryGroup.SORTED,
        _R.RECYCLABLE,
        _R.RECYCLABLE,
    )
    HAZARDOUS = (
        "hazardous",
        "有害垃圾（电池、灯管、药品、油漆等）",
        "hazardous waste (batteries, lamps, medicines, paint…)",
        CategoryGroup.SORTED,
        _R.HAZARDOUS,
        _R.HAZARDOUS,
    )
    OTHER = (
        "other",
        "其他垃圾",
        "other waste",
        CategoryGroup.SORTED,
        _R.OTHER,
        _R.OTHER,
    )

    label_zh: str
    label_en: str
    group: CategoryGroup
    route: DisposalRoute
    small_route: DisposalRoute

    @property
    def can_be_bulky(self) -> bool:
        """Whether an item of this category is bulky waste when it is large enough."""
        return self.route is DisposalRoute.BULKY


class Measure(CodedEnum):
    """A measure the rule looks at, with its threshold and wording."""

    WEIGHT = (
        "weight_kg",
        WEIGHT_THRESHOLD_KG,
        "重量超过5千克",
        "weighs more than 5 kg",
    )
    VOLUME = (
        "volume_m3",
        VOLUME_THRESHOLD_M3,
        "体积超过0.2立方米",
        "measures more than 0.2 m³",
    )
    LENGTH = ("length_m", LENGTH_THRESHOLD_M, "长度超过1米", "is longer than 1 m")

    threshold: Decimal
    exceeds_zh: str
    exceeds_en: str


@dataclass(frozen=True, slots=True)
class SizingDecision:
    """The outcome of :func:`classify`, with a reason a resident can read."""

    is_bulky: bool
    route: DisposalRoute
    category: Category
    exceeded: tuple[Measure, ...]
    """Measures above their threshold, in the order weight, volume, length."""
    reason_zh: str
    reason_en: str


def _checked(field: str, value: Decimal | int | None) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"{field} must be a Decimal (or int), not {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite():
        raise ValueError(f"{field} must be a finite number, got {value}")
    if value < 0:
        raise ValueError(f"{field} must not be negative, got {value}")
    return value


def _join_zh(parts: list[str]) -> str:
    return "、".join(parts[:-1]) + "或" + parts[-1] if len(parts) > 1 else parts[0]


def _join_en(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def classify(
    category: Category,
    weight_kg: Decimal | None,
    volume_m3: Decimal | None,
    length_m: Decimal | None,
    integral: bool = True,
) -> SizingDecision:
    """Decide whether an item is bulky waste and, if not, where it goes.

    ``None`` means "not measured": an unmeasured quantity never makes an item bulky.
    ``integral`` says the item is whole and needs dismantling (整体性强、需拆解处理); an
    item already taken apart goes to the sorted bin of its material.

    Raises ``ValueError`` naming the field for a negative or non-finite measure, and
    ``TypeError`` for a float (use ``Decimal("0.2")``, not ``0.2``).
    """
    measures = {
        Measure.WEIGHT: _checked("weight_kg", weight_kg),
        Measure.VOLUME: _checked("volume_m3", volume_m3),
        Measure.LENGTH: _checked("length_m", length_m),
    }
    exceeded = tuple(m for m, v in measures.items() if v is not None and v > m.threshold)

    if not category.can_be_bulky:
        route = category.route
        if route is DisposalRoute.E_WASTE:
            zh = f"家用电器不属于大件垃圾，{route.instruction_zh}。"
            en = f"Household appliances are not bulky waste: {route.instruction_en}."
        else:
            zh = f"这属于{route.label_zh}，不属于大件垃圾，无论多重多大，{route.instruction_zh}。"
            en = f"This is {route.label_en}, not bulky waste, however heavy or large it is: {route.instruction_en}."
        return SizingDecision(False, route, category, exceeded, zh, en)

    small = category.small_route
    if not integral:
        zh = f"这件物品已拆解或无需拆解，不属于大件垃圾，{small.instruction_zh}。"
        en = f"This item is already dismantled or needs no dismantling, so it is not bulky waste: {small.instruction_en}."
        return SizingDecision(False, small, category, exceeded, zh, en)

    if exceeded:
        bulky = DisposalRoute.BULKY
        zh = (
            f"这件物品{_join_zh([m.exceeds_zh for m in exceeded])}，且整体性强、需拆解处理，"
            f"属于大件垃圾，{bulky.instruction_zh}。"
        )
        en = (
            f"This item {_join_en([m.exceeds_en for m in exceeded])} and is whole and needs dismantling, "
            f"so it is bulky waste: {bulky.instruction_en}."
        )
        return SizingDecision(True, bulky, category, exceeded, zh, en)

    missing = [m for m, v in measures.items() if v is None]
    if len(missing) == len(measures):
        zh = (
            "尚未填写重量、体积或长度。如果这件物品重量超过5千克、体积超过0.2立方米或长度超过1米，"
            f"属于大件垃圾，{DisposalRoute.BULKY.instruction_zh}；否则不属于大件垃圾，{small.instruction_zh}。"
        )
        en = (
            "No weight, volume or length was given. If this item weighs more than 5 kg, measures more than "
            f"0.2 m³ or is longer than 1 m, it is bulky waste: {DisposalRoute.BULKY.instruction_en}; "
            f"otherwise it is not bulky waste: {small.instruction_en}."
        )
    elif missing:
        zh = (
            "按已填写的尺寸，这件物品不属于大件垃圾，"
            f"{small.instruction_zh}；如果它{_join_zh([m.exceeds_zh for m in missing])}，请重新填写。"
        )
        en = (
            f"From the measures given this item is not bulky waste: {small.instruction_en}; "
            f"if it {_join_en([m.exceeds_en for m in missing]).replace(' and ', ' or ')}, please enter that measure."
        )
    else:
        zh = f"这件物品不超过5千克、0.2立方米或1米，不属于大件垃圾，{small.instruction_zh}。"
        en = (
            "This item weighs no more than 5 kg, measures no more than 0.2 m³ and is no longer than 1 m, "
            f"so it is not bulky waste: {small.instruction_en}."
        )
    return SizingDecision(False, small, category, exceeded, zh, en)


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    """A typical item residents book (常见物品), with typical measures.

    ``code`` is stable: the booking app keys its catalogue rows on it.
    """

    code: str
    name_zh: str
    name_en: str
    category: Category
    typical_weight_kg: Decimal
    typical_volume_m3: Decimal
    typical_length_m: Decimal

    def classify(self) -> SizingDecision:
        """Classify the item at its typical measures."""
        return classify(
            self.category,
            self.typical_weight_kg,
            self.typical_volume_m3,
            self.typical_length_m,
        )


def _item(code: str, zh: str, en: str, category: Category, kg: str, m3: str, m: str) -> CatalogueItem:
    return CatalogueItem(code, zh, en, category, Decimal(kg), Decimal(m3), Decimal(m))


_C = Category

CATALOGUE: tuple[CatalogueItem, ...] = (
    # 废旧家具 — old furniture
    _item("double_bed", "双人床", "double bed", _C.BED, "60", "1.8", "2.0"),
    _item("single_bed", "单人床", "single bed", _C.BED, "35", "0.9", "2.0"),
    _item("mattress", "床垫", "mattress", _C.MATTRESS, "25", "0.72", "2.0"),
    _item("three_seat_sofa", "三人沙发", "three-seat sofa", _C.SOFA, "50", "1.6", "2.1"),
    _item("armchair", "单人沙发", "armchair", _C.SOFA, "20", "0.69", "0.9"),
    _item("wardrobe", "衣柜", "wardrobe", _C.WARDROBE, "80", "1.44", "2.0"),
    _item("bookcase", "书柜", "bookcase", _C.BOOKCASE, "40", "0.6", "1.9"),
    _item("dining_table", "餐桌", "dining table", _C.TABLE, "30", "0.84", "1.4"),
    _item("desk", "书桌", "desk", _C.TABLE, "25", "0.6", "1.2"),
    _item("office_chair", "办公椅", "office chair", _C.CHAIR, "12", "0.46", "1.1"),
    _item("small_stool", "小板凳", "small stool", _C.CHAIR, "1.5", "0.03", "0.3"),
    # 其他大件垃圾 — other bulky items
    _item(
        "kitchen_cabinet",
        "橱柜",
        "kitchen cabinet",
        _C.KITCHEN_FITTING,
        "45",
        "0.5",
        "1.5",
    ),
    _item("bathtub", "浴缸", "bathtub", _C.SANITARY_FITTING, "40", "0.77", "1.7"),
    _item("toilet", "马桶", "toilet", _C.SANITARY_FITTING, "30", "0.21", "0.7"),
    _item("wash_basin", "洗手盆", "wash basin", _C.SANITARY_FITTING, "15", "0.1", "0.6"),
    _item(
        "old_bicycle",
        "旧自行车",
        "old bicycle",
        _C.MOBILITY_VEHICLE,
        "15",
        "0.5",
        "1.7",
    ),
    _item(
        "mobility_scooter",
        "电动代步车",
        "mobility scooter",
        _C.MOBILITY_VEHICLE,
        "60",
        "0.8",
        "1.2",
    ),
    _item("wheelchair", "轮椅", "wheelchair", _C.MOBILITY_VEHICLE, "15", "0.6", "1.0"),
    _item("metal_rack", "铁架", "metal rack", _C.LARGE_METAL, "20", "0.5", "1.8"),
    _item("old_tyre", "旧轮胎", "old tyre", _C.RUBBER, "9", "0.09", "0.65"),
    _item("leather_sofa", "皮革沙发", "leather sofa", _C.LEATHER, "55", "1.6", "2.1"),
    _item("wooden_board", "木板", "wooden board", _C.BOARD, "15", "0.05", "2.4"),
    # 废旧家电 — appliances go to e-waste recycling, shown so residents are told so
    _item(
        "refrigerator",
        "冰箱",
        "refrigerator",
        _C.HOUSEHOLD_APPLIANCE,
        "60",
        "0.6",
        "1.7",
    ),
    _item(
        "washing_machine",
        "洗衣机",
        "washing machine",
        _C.HOUSEHOLD_APPLIANCE,
        "65",
        "0.35",
        "0.85",
    ),
    _item("television", "电视", "television", _C.HOUSEHOLD_APPLIANCE, "15", "0.15", "1.2"),
    _item(
        "air_conditioner",
        "空调",
        "air conditioner",
        _C.HOUSEHOLD_APPLIANCE,
        "40",
        "0.3",
        "0.9",
    ),
    _item("computer", "电脑", "computer", _C.HOUSEHOLD_APPLIANCE, "8", "0.05", "0.5"),
)
"""Typical items with typical measures; codes are unique and never change."""

_BY_CODE = {item.code: item for item in CATALOGUE}


def catalogue_item(code: str) -> CatalogueItem:
    """Return the catalogue item with this code (``KeyError`` if there is none)."""
    return _BY_CODE[code]
