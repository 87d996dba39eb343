"""Zhengzhou's bulky-waste rule: exhaustive boundaries and properties (no DB, no Django)."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongzhi.bulkywaste.sizing import (
    CATALOGUE,
    Category,
    CategoryGroup,
    DisposalRoute,
    Measure,
    catalogue_item,
    classify,
)

BULKY_CATEGORIES = [c for c in Category if c.can_be_bulky]
OTHER_CATEGORIES = [c for c in Category if not c.can_be_bulky]

WEIGHTS = [
    None,
    Decimal(0),
    Decimal(5),
    Decimal("5.000"),
    Decimal("5.001"),
    Decimal(80),
]
VOLUMES = [None, Decimal(0), Decimal("0.2"), Decimal("0.2001"), Decimal(3)]
LENGTHS = [None, Decimal(0), Decimal(1), Decimal("1.001"), Decimal("2.5")]


def _over(value: Decimal | None, threshold: str) -> bool:
    return value is not None and value > Decimal(threshold)


def test_categories_cover_the_rule() -> None:
    furniture = {c.code for c in Category if c.group is CategoryGroup.FURNITURE}
    assert furniture == {
        "bed",
        "mattress",
        "sofa",
        "table",
        "chair",
        "wardrobe",
        "bookcase",
    }
    other_bulky = {c.code for c in Category if c.group is CategoryGroup.OTHER_BULKY}
    assert other_bulky == {
        "kitchen_fitting",
        "sanitary_fitting",
        "mobility_vehicle",
        "large_metal",
        "rubber",
        "leather",
        "board",
    }
    assert {c.route for c in OTHER_CATEGORIES} == {
        DisposalRoute.E_WASTE,
        DisposalRoute.KITCHEN,
        DisposalRoute.RECYCLABLE,
        DisposalRoute.HAZARDOUS,
        DisposalRoute.OTHER,
    }
    for c in Category:
        assert c.label_zh and c.label_en and Category(c.code) is c
        assert c.small_route is not DisposalRoute.BULKY


@pytest.mark.parametrize("category", list(Category), ids=lambda c: c.code)
def test_exhaustive_boundaries(category: Category) -> None:
    for w, v, length, integral in itertools.product(WEIGHTS, VOLUMES, LENGTHS, [True, False]):
        decision = classify(category, w, v, length, integral=integral)
        exceeds = _over(w, "5") or _over(v, "0.2") or _over(length, "1")
        expected = category.can_be_bulky and integral and exceeds
        assert decision.is_bulky is expected, (w, v, length, integral)
        if expected:
            assert decision.route is DisposalRoute.BULKY
        elif category.can_be_bulky:
            assert decision.route is category.small_route
        else:
            assert decision.route is category.route
        assert decision.category is category
        assert decision.reason_zh and decision.reason_en
        assert ("不属于大件垃圾" in decision.reason_zh) is not expected
        assert ("not bulky waste" in decision.reason_en) is not expected
        assert [m is Measure.WEIGHT for m in decision.exceeded].count(True) == int(_over(w, "5"))


@pytest.mark.parametrize(
    ("weight", "volume", "length", "bulky"),
    [
        (Decimal(5), None, None, False),
        (Decimal("5.001"), None, None, True),
        (None, Decimal("0.2"), None, False),
        (None, Decimal("0.2001"), None, True),
        (None, None, Decimal(1), False),
        (None, None, Decimal("1.001"), True),
        (Decimal(5), Decimal("0.2"), Decimal(1), False),
        (None, None, None, False),
    ],
)
def test_thresholds_are_strict(
    weight: Decimal | None, volume: Decimal | None, length: Decimal | None, bulky: bool
) -> None:
    assert classify(Category.SOFA, weight, volume, length).is_bulky is bulky


def test_messages_for_residents() -> None:
    small = classify(Category.CHAIR, Decimal(3), Decimal("0.05"), Decimal("0.5"))
    assert small.reason_zh == "这件物品不超过5千克、0.2立方米或1米，不属于大件垃圾，请投放到可回收物桶。"
    assert "recyclables bin" in small.reason_en

    big = classify(Category.WARDROBE, Decimal(80), Decimal("1.4"), Decimal(2))
    assert big.exceeded == (Measure.WEIGHT, Measure.VOLUME, Measure.LENGTH)
    assert big.reason_zh.startswith("这件物品重量超过5千克、体积超过0.2立方米或长度超过1米，且整体性强")
    assert "请预约大件垃圾上门回收" in big.reason_zh
    assert "bulky-waste collection" in big.reason_en

    fridge = classify(Category.HOUSEHOLD_APPLIANCE, Decimal(60), Decimal("0.6"), Decimal("1.7"))
    assert not fridge.is_bulky and fridge.route is DisposalRoute.E_WASTE
    assert "废旧家电回收" in fridge.reason_zh and "e-waste" in fridge.reason_en

    sack = classify(Category.KITCHEN_WASTE, Decimal(30), Decimal("0.5"), Decimal("1.2"))
    assert not sack.is_bulky and sack.route is DisposalRoute.KITCHEN
    assert "厨余垃圾桶" in sack.reason_zh

    pieces = classify(Category.BED, Decimal(60), Decimal(1), Decimal(2), integral=False)
    assert not pieces.is_bulky and pieces.route is DisposalRoute.RECYCLABLE
    assert "已拆解" in pieces.reason_zh

    unmeasured = classify(Category.SOFA, None, None, None)
    assert "尚未填写" in unmeasured.reason_zh

    partly = classify(Category.SOFA, None, Decimal("0.1"), None)
    assert "重量超过5千克或长度超过1米" in partly.reason_zh
    assert "weighs more than 5 kg or is longer than 1 m" in partly.reason_en


@pytest.mark.parametrize("field", ["weight_kg", "volume_m3", "length_m"])
def test_negative_measure_names_the_field(field: str) -> None:
    kwargs: dict[str, Decimal | None] = {
        "weight_kg": None,
        "volume_m3": None,
        "length_m": None,
    }
    kwargs[field] = Decimal("-0.001")
    with pytest.raises(ValueError, match=field):
        classify(Category.BED, **kwargs)


def test_floats_and_non_finite_are_refused() -> None:
    with pytest.raises(TypeError, match="weight_kg"):
        classify(Category.BED, 5.5, None, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="volume_m3"):
        classify(Category.BED, None, Decimal("NaN"), None)
    with pytest.raises(ValueError, match="length_m"):
        classify(Category.BED, None, None, Decimal("Infinity"))
    assert classify(Category.BED, 6, None, None).is_bulky  # ints are exact


def test_catalogue() -> None:
    codes = [item.code for item in CATALOGUE]
    assert len(codes) == len(set(codes))
    for item in CATALOGUE:
        assert catalogue_item(item.code) is item
        decision = item.classify()
        if item.category.group is CategoryGroup.APPLIANCE:
            assert decision.route is DisposalRoute.E_WASTE
        elif item.code == "small_stool":
            assert decision.route is DisposalRoute.RECYCLABLE
        else:
            assert decision.is_bulky, item.code
    names = {item.name_zh for item in CATALOGUE}
    for required in [
        "双人床",
        "单人床",
        "床垫",
        "三人沙发",
        "衣柜",
        "浴缸",
        "马桶",
        "旧自行车",
        "轮椅",
        "冰箱",
        "电视",
    ]:
        assert required in names
    with pytest.raises(KeyError):
        catalogue_item("no_such_item")


measures = st.one_of(
    st.none(),
    st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False),
)


@given(
    category=st.sampled_from(list(Category)),
    w=measures,
    v=measures,
    length=measures,
    integral=st.booleans(),
    which=st.sampled_from(["w", "v", "length"]),
    bump=st.decimals(min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False),
)
def test_monotone(
    category: Category,
    w: Decimal | None,
    v: Decimal | None,
    length: Decimal | None,
    integral: bool,
    which: str,
    bump: Decimal,
) -> None:
    """Increasing (or supplying) a measure never turns bulky into not bulky."""
    before = classify(category, w, v, length, integral=integral)
    values = {"w": w, "v": v, "length": length}
    values[which] = (values[which] or Decimal(0)) + bump
    after = classify(category, values["w"], values["v"], values["length"], integral=integral)
    assert not before.is_bulky or after.is_bulky


@given(
    category=st.sampled_from(OTHER_CATEGORIES),
    w=measures,
    v=measures,
    length=measures,
    integral=st.booleans(),
)
def test_non_bulky_categories_never_bulky(
    category: Category,
    w: Decimal | None,
    v: Decimal | None,
    length: Decimal | None,
    integral: bool,
) -> None:
    decision = classify(category, w, v, length, integral=integral)
    assert not decision.is_bulky
    assert decision.route is category.route


@given(category=st.sampled_from(BULKY_CATEGORIES), w=measures, v=measures, length=measures)
def test_bulky_categories_follow_thresholds(
    category: Category, w: Decimal | None, v: Decimal | None, length: Decimal | None
) -> None:
    decision = classify(category, w, v, length)
    assert decision.is_bulky == (_over(w, "5") or _over(v, "0.2") or _over(length, "1"))
