"""The consent thresholds at their bounds and the normalised progress roll-up (pure, exact)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongzhi.renovation.arithmetic import ConsentRule, consent_tally, percent_text, roll_up, round_fen


def passes(rule: ConsentRule, households: int, agreeing: int) -> bool:
    return consent_tally(
        rule, households=households, agreeing=agreeing, area=Decimal(0), agreeing_area=Decimal(0)
    ).passed


@pytest.mark.parametrize(
    ("rule", "households", "agreeing", "expected"),
    [
        (ConsentRule(4, 5), 5, 4, True),  # exactly 80% passes: 以上 includes the bound
        (ConsentRule(4, 5), 5, 3, False),
        (ConsentRule(4, 5), 10, 8, True),
        (ConsentRule(4, 5), 10, 7, False),
        (ConsentRule(4, 5), 11, 9, True),  # 81.8%
        (ConsentRule(4, 5), 11, 8, False),  # 72.7%
        (ConsentRule(4, 5, inclusive=False), 5, 4, False),  # "more than 80%": the bound fails
        (ConsentRule(1, 1), 6, 6, True),  # a lift: every owner of the entrance
        (ConsentRule(1, 1), 6, 5, False),
        (ConsentRule(1, 2, inclusive=False), 4, 2, False),  # 过半数 is strictly more than half
        (ConsentRule(1, 2, inclusive=False), 4, 3, True),
        (ConsentRule(2, 3), 3, 2, True),
        (ConsentRule(2, 3), 300, 199, False),
        (ConsentRule(4, 5), 0, 0, False),  # nobody to consent: never passes
    ],
)
def test_consent_bounds(rule, households, agreeing, expected):
    assert passes(rule, households, agreeing) is expected


@given(
    num=st.integers(1, 20),
    extra=st.integers(0, 20),
    households=st.integers(1, 500),
    data=st.data(),
    inclusive=st.booleans(),
)
def test_consent_is_exact_comparison(num, extra, households, data, inclusive):
    rule = ConsentRule(num, num + extra, inclusive)
    agreeing = data.draw(st.integers(0, households))
    ratio = Fraction(agreeing, households)
    expected = ratio >= rule.fraction if inclusive else ratio > rule.fraction
    assert passes(rule, households, agreeing) is expected


def test_bad_rules_and_tallies_are_refused():
    with pytest.raises(ValueError):
        ConsentRule(0, 5)
    with pytest.raises(ValueError):
        ConsentRule(6, 5)
    with pytest.raises(ValueError):
        consent_tally(ConsentRule(4, 5), households=3, agreeing=4, area=Decimal(0), agreeing_area=Decimal(0))


def test_roll_up_is_weighted_by_budget_and_normalised():
    # Decidim would give 2×100 + 3×100 = 500%; normalised it is 100%.
    assert roll_up([(2, 100), (3, 100)]) == 100
    assert roll_up([(Decimal("100000"), 50), (Decimal("300000"), 10)]) == Fraction(50 * 1 + 10 * 3, 4)
    assert roll_up([]) == 0
    assert roll_up([(0, 40), (0, 60)]) == 50  # no budgets at all: plain average


@given(st.lists(st.tuples(st.decimals(0, 10**9, places=2), st.integers(0, 100)), min_size=1, max_size=30))
def test_roll_up_never_passes_100_nor_drops_below_0(items):
    value = roll_up(items)
    assert 0 <= value <= 100
    assert min(p for _b, p in items) <= value <= max(p for _b, p in items)


def test_roll_up_refuses_bad_progress():
    with pytest.raises(ValueError):
        roll_up([(1, 101)])
    with pytest.raises(ValueError):
        roll_up([(-1, 50)])


def test_round_fen_and_percent():
    assert round_fen(Fraction(1, 200)) == Decimal("0.01")  # half a fen rounds up
    assert round_fen(Fraction(1, 300)) == Decimal("0.00")
    assert percent_text(Fraction(4, 5)) == "80.0%"
    assert percent_text(Fraction(2, 3)) == "66.7%"
    assert percent_text(None) == "—"
