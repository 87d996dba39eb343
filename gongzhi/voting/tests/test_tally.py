"""Tests for the pure Art. 278 / residents' meeting / consent tallies.

No Django, no database: run with ``pytest -p no:django``.

Many cases are hand-computed; the arithmetic is in the comments.  The property
tests compare against :func:`reference`, an independent implementation that uses
only integer cross-multiplication (areas expressed as integers of 1/10000 m²).
"""

from __future__ import annotations

import ast
import decimal
import re
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gongzhi.voting.tally import (
    DEVELOPER_HEAD_ID,
    MORE_THAN_HALF,
    SPECIAL_MAJORITY,
    THREE_QUARTERS_OR_MORE,
    TWO_THIRDS_OR_MORE,
    AreaSource,
    Choice,
    ConsentBase,
    ConsentRule,
    Head,
    Matter,
    MeetingBasis,
    MergePolicy,
    OwnerVoteOutcome,
    TallyInputError,
    Threshold,
    UnitHolding,
    exact_sum,
    format_fraction,
    format_percent,
    merge_heads,
    owner_vote_rule,
    tally_consent,
    tally_owner_vote,
    tally_residents_meeting,
    unit_area,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
TALLY_PY = REPO_ROOT / "gongzhi" / "voting" / "tally.py"

Y, N, A = Choice.YES, Choice.NO, Choice.ABSTAIN
ORDINARY = [m for m in Matter if m not in SPECIAL_MAJORITY]
SPECIAL = sorted(SPECIAL_MAJORITY, key=lambda m: m.item)


def heads_of(*specs: tuple[str | int, Choice | None], developer_first: bool = False):
    """Build heads from (area, choice) pairs; ids h0, h1, …"""
    return [
        Head(
            id=f"h{i}",
            developer=developer_first and i == 0,
            choice=choice,
            area=Decimal(str(area)),
        )
        for i, (area, choice) in enumerate(specs)
    ]


def equal_heads(n: int, yes: int = 0, no: int = 0, abstain: int = 0, area: int = 10):
    """n heads of equal area: first `yes` vote yes, then `no`, then `abstain`."""
    choices = [Y] * yes + [N] * no + [A] * abstain
    choices += [None] * (n - len(choices))
    assert len(choices) == n
    return heads_of(*[(area, c) for c in choices])


# --------------------------------------------------------------------- reference


def reference(special: bool, heads: list[tuple[int, Choice | None]]) -> dict:
    """Independent Art. 278 implementation with integer cross-multiplication.

    ``heads`` are (integer area, choice) pairs.
    """
    ta = sum(a for a, _ in heads)
    tn = len(heads)
    pa = sum(a for a, c in heads if c is not None)
    pn = sum(1 for _, c in heads if c is not None)
    ya = sum(a for a, c in heads if c is Y)
    yn = sum(1 for _, c in heads if c is Y)
    quorum = 3 * pa >= 2 * ta and 3 * pn >= 2 * tn
    if special:
        agree = 4 * ya >= 3 * pa and 4 * yn >= 3 * pn
    else:
        agree = 2 * ya > pa and 2 * yn > pn
    return {
        "quorum_met": quorum,
        "passed": quorum and agree,
        "total_area": ta,
        "participating_area": pa,
        "agreeing_area": ya,
        "total_owners": tn,
        "participating_owners": pn,
        "agreeing_owners": yn,
    }


SCALE = 4  # reference areas are integers of 10^-4 m²


def tally_ints(matter: Matter, heads: list[tuple[int, Choice | None]]) -> OwnerVoteOutcome:
    """Tally integer areas (units of 10^-4) through the real function."""
    return tally_owner_vote(
        matter,
        [Head(f"h{i}", False, c, Decimal(a).scaleb(-SCALE)) for i, (a, c) in enumerate(heads)],
    )


def assert_matches_reference(matter: Matter, heads: list[tuple[int, Choice | None]]):
    out = tally_ints(matter, heads)
    ref = reference(matter in SPECIAL_MAJORITY, heads)
    assert out.quorum_met == ref["quorum_met"]
    assert out.passed == ref["passed"]
    for key in ("total_area", "participating_area", "agreeing_area"):
        assert getattr(out, key) == Decimal(ref[key]).scaleb(-SCALE), key
    for key in ("total_owners", "participating_owners", "agreeing_owners"):
        assert getattr(out, key) == ref[key], key
    # Ratios are exact and consistent with the counts.
    assert out.participating_area_ratio == Fraction(ref["participating_area"], ref["total_area"])
    assert out.participating_owners_ratio == Fraction(ref["participating_owners"], ref["total_owners"])
    if ref["participating_area"]:
        assert out.agreeing_area_ratio == Fraction(ref["agreeing_area"], ref["participating_area"])
    else:
        assert out.agreeing_area_ratio is None
    if ref["participating_owners"]:
        assert out.agreeing_owners_ratio == Fraction(ref["agreeing_owners"], ref["participating_owners"])
    else:
        assert out.agreeing_owners_ratio is None
    assert out.rule == owner_vote_rule(matter)
    assert bool(out.reasons_en) == (not out.passed)
    return out


# ------------------------------------------------------------------ hand computed


class TestQuorum:
    def test_exactly_two_thirds_area_and_heads(self):
        # 9 heads × 10 m² = 90 m²; 6 take part: area 60/90 = 2/3, heads 6/9 = 2/3.
        # "三分之二以上" includes the bound, so the quorum is met.
        out = tally_owner_vote(Matter.COVENANT, equal_heads(9, yes=6))
        assert out.quorum_met
        assert out.participating_area_ratio == Fraction(2, 3)
        assert out.participating_owners_ratio == Fraction(2, 3)
        assert out.passed  # 6/6 agree
        assert out.reasons_en == ()

    def test_one_head_less_fails_quorum(self):
        # 5 of 9 take part: 50/90 = 5/9 < 2/3 and 5/9 < 2/3.
        out = tally_owner_vote(Matter.COVENANT, equal_heads(9, yes=5))
        assert not out.quorum_met
        assert not out.passed
        assert [c.key for c in out.failed_conditions] == ["quorum_area", "quorum_owners"]
        assert out.reasons_en[0] == ("quorum not met: participating area / total area 55.56% < 66.67% (5/9 < 2/3)")
        assert out.reasons_zh[0].startswith("未达到法定参与表决人数/面积")

    def test_heads_meet_quorum_but_area_does_not(self):
        # Areas: 6 participants × 10 = 60; 3 absentees × 40 = 120; total 180.
        # Heads 6/9 = 2/3 (met); area 60/180 = 1/3 < 2/3 (not met).
        heads = heads_of(*([(10, Y)] * 6 + [(40, None)] * 3))
        out = tally_owner_vote(Matter.COMMITTEE, heads)
        assert out.condition("quorum_owners").met
        assert not out.condition("quorum_area").met
        assert not out.quorum_met and not out.passed

    def test_area_meets_quorum_but_heads_do_not(self):
        # One big owner 1000 m² + 4 small × 10 m²; big + 1 small take part.
        # Area 1010/1040 >= 2/3 (met); heads 2/5 < 2/3 (not met).
        heads = heads_of((1000, Y), (10, Y), (10, None), (10, None), (10, None))
        out = tally_owner_vote(Matter.COMMITTEE, heads)
        assert out.condition("quorum_area").met
        assert not out.condition("quorum_owners").met
        assert not out.passed

    def test_abstain_counts_towards_quorum_but_not_agreement(self):
        # 3 heads × 10: yes, abstain, abstain -> participate 3/3, agree 1/3.
        out = tally_owner_vote(Matter.COVENANT, equal_heads(3, yes=1, abstain=2))
        assert out.quorum_met
        assert out.participating_owners == 3 and out.agreeing_owners == 1
        assert out.agreeing_area_ratio == Fraction(1, 3)
        assert not out.passed

    def test_nobody_votes(self):
        out = tally_owner_vote(Matter.COVENANT, equal_heads(4))
        assert not out.quorum_met and not out.passed
        assert out.participating_area == 0 and out.participating_owners == 0
        assert out.agreeing_area_ratio is None and out.agreeing_owners_ratio is None
        assert out.format_ratio("agreeing_area_ratio") == "n/a"
        assert len(out.reasons_en) == 4
        assert "nobody took part" in out.reasons_en[2]


class TestDoubleMajority:
    @pytest.mark.parametrize("matter", ORDINARY)
    def test_exactly_half_fails(self, matter):
        # 6 heads × 10 all vote: 3 yes / 3 no -> area 30/60 = 1/2, heads 3/6 = 1/2.
        # "过半数" is strict: exactly half is not enough.
        out = tally_owner_vote(matter, equal_heads(6, yes=3, no=3))
        assert out.quorum_met and not out.passed
        assert out.rule == "art278_double_majority"
        assert {c.key for c in out.failed_conditions} == {"agree_area", "agree_owners"}

    @pytest.mark.parametrize("matter", ORDINARY)
    def test_just_above_half_passes(self, matter):
        # 7 heads × 10 all vote: 4 yes -> 40/70 = 4/7 > 1/2 and 4/7 > 1/2.
        out = tally_owner_vote(matter, equal_heads(7, yes=4, no=3))
        assert out.passed

    def test_area_just_above_half_by_a_hundredth(self):
        # 4 heads vote: yes 25.01, yes 25.00, no 25.00, no 24.99 (total 100.00).
        # Agree area 50.01/100.00 > 1/2 (met); heads 2/4 = 1/2 (not met).
        heads = heads_of(("25.01", Y), ("25.00", Y), ("25.00", N), ("24.99", N))
        out = tally_owner_vote(Matter.USE_FUND, heads)
        assert out.condition("agree_area").met
        assert not out.condition("agree_owners").met
        assert not out.passed
        # Same, but area exactly half: 25.00 + 25.00 = 50.00 of 100.00.
        heads = heads_of(("25.00", Y), ("25.00", Y), ("25.01", N), ("24.99", N))
        out = tally_owner_vote(Matter.USE_FUND, heads)
        assert not out.condition("agree_area").met

    def test_headcount_passes_area_fails(self):
        # 9 heads, all vote. Big owner 1000 m² votes no, 8 × 10 m² vote yes.
        # Heads 8/9 > 1/2 (met); area 80/1080 = 2/27 < 1/2 (not met).
        heads = heads_of((1000, N), *([(10, Y)] * 8))
        out = tally_owner_vote(Matter.PROPERTY_COMPANY, heads)
        assert out.agreeing_owners_ratio == Fraction(8, 9)
        assert out.agreeing_area_ratio == Fraction(2, 27)
        assert out.quorum_met and not out.passed
        assert out.reasons_en == ("not passed: agreeing area / participating area 7.41% ≤ 50.00% (2/27 ≤ 1/2)",)

    def test_area_passes_headcount_fails(self):
        # Same but reversed: big owner yes, 8 small no.
        # Area 1000/1080 = 25/27 > 1/2 (met); heads 1/9 < 1/2 (not met).
        heads = heads_of((1000, Y), *([(10, N)] * 8))
        out = tally_owner_vote(Matter.PROPERTY_COMPANY, heads)
        assert out.condition("agree_area").met
        assert not out.condition("agree_owners").met
        assert not out.passed


class TestThreeQuarters:
    @pytest.mark.parametrize("matter", SPECIAL)
    def test_exactly_three_quarters_passes(self, matter):
        # 12 heads × 10 = 120; 8 take part (80/120 = 2/3, 8/12 = 2/3: quorum met);
        # 6 yes / 2 no: 60/80 = 3/4, 6/8 = 3/4 -> "四分之三以上" includes the bound.
        out = tally_owner_vote(matter, equal_heads(12, yes=6, no=2))
        assert out.quorum_met and out.passed
        assert out.rule == "art278_three_quarters"
        assert out.agreeing_area_ratio == Fraction(3, 4)

    @pytest.mark.parametrize("matter", SPECIAL)
    def test_just_below_three_quarters_fails(self, matter):
        # 5 yes / 3 no of 8 participants: 5/8 < 3/4.
        out = tally_owner_vote(matter, equal_heads(12, yes=5, no=3))
        assert out.quorum_met and not out.passed

    def test_area_just_below_three_quarters(self):
        # 4 voters, 3 yes: heads 3/4 (met). Areas yes 20.00 + 20.00 + 19.99 = 59.99,
        # no 20.01; participating 80.00: 59.99/80.00 < 3/4 (60/80) -> fails.
        heads = heads_of(("20.00", Y), ("20.00", Y), ("19.99", Y), ("20.01", N))
        out = tally_owner_vote(Matter.RAISE_FUND, heads)
        assert out.condition("agree_owners").met
        assert not out.condition("agree_area").met
        assert not out.passed
        # Message shows enough digits to tell 74.9875% from 75%.
        assert "74.99% < 75.00%" in out.reasons_en[0]
        assert "(5999/8000 < 3/4)" in out.reasons_en[0]

    def test_ordinary_majority_would_pass_same_vote(self):
        # 5 yes / 3 no passes an ordinary matter (5/8 > 1/2) but not item (六).
        heads = equal_heads(12, yes=5, no=3)
        assert tally_owner_vote(Matter.USE_FUND, heads).passed
        assert not tally_owner_vote(Matter.RAISE_FUND, heads).passed


class TestDeveloperAndMerging:
    def test_developer_is_one_head(self):
        # Developer holds 5 unsold units of 100 m² (500 m²) -> ONE head.
        # 3 owners × 100 m². Heads 4, total area 800.
        # Developer + 2 owners vote yes: area 700/800 >= 2/3, heads 3/4 >= 2/3;
        # agree 700/700 and 3/3 -> passes.
        units = [UnitHolding(f"d{i}", Decimal(100), developer=True) for i in range(5)]
        units += [UnitHolding(f"u{i}", Decimal(100), frozenset({f"o{i}"})) for i in range(3)]
        heads = merge_heads(units, {DEVELOPER_HEAD_ID: "yes", "o0": "yes", "o1": "yes"})
        assert len(heads) == 4
        dev = next(h for h in heads if h.developer)
        assert dev.area == Decimal(500) and dev.unit_ids == ("d0", "d1", "d2", "d3", "d4")
        out = tally_owner_vote(Matter.COVENANT, heads)
        assert out.total_owners == 4 and out.total_area == 800
        assert out.participating_owners == 3 and out.passed

    def test_developer_alone_cannot_carry_headcount(self):
        # Same community; only the developer votes: area 500/800 < 2/3 and heads 1/4.
        units = [UnitHolding(f"d{i}", Decimal(100), developer=True) for i in range(5)]
        units += [UnitHolding(f"u{i}", Decimal(100), frozenset({f"o{i}"})) for i in range(3)]
        out = tally_owner_vote(Matter.COVENANT, merge_heads(units, {DEVELOPER_HEAD_ID: "yes"}))
        assert not out.quorum_met

    def test_two_developer_heads_rejected(self):
        heads = [Head("d1", True, Y, Decimal(1)), Head("d2", True, Y, Decimal(1))]
        with pytest.raises(TallyInputError, match="developer"):
            tally_owner_vote(Matter.COVENANT, heads)

    def test_one_owner_several_units_is_one_head(self):
        # o1 holds u1 (80.5) and u2 (19.5): one head of area 100.0.
        units = [
            UnitHolding("u1", Decimal("80.5"), frozenset({"o1"})),
            UnitHolding("u2", Decimal("19.5"), frozenset({"o1"})),
            UnitHolding("u3", Decimal("50"), frozenset({"o2"})),
        ]
        heads = merge_heads(units, {"o1": Y})
        assert [(h.id, h.area, h.unit_ids) for h in heads] == [
            ("o1", Decimal("100.0"), ("u1", "u2")),
            ("o2", Decimal(50), ("u3",)),
        ]
        assert heads[0].choice is Y and heads[1].choice is None

    def test_co_owners_designate_one_voter(self):
        units = [UnitHolding("u1", Decimal(90), frozenset({"A", "B"}), voter_id="B")]
        (head,) = merge_heads(units, {"B": "no"})
        assert head.id == "B" and head.choice is N
        with pytest.raises(TallyInputError, match="not a head's voter"):
            merge_heads(units, {"A": "yes"})

    def test_co_owned_unit_needs_designation(self):
        with pytest.raises(TallyInputError, match="designated voter"):
            UnitHolding("u1", Decimal(90), frozenset({"A", "B"}))
        with pytest.raises(TallyInputError, match="not an owner"):
            UnitHolding("u1", Decimal(90), frozenset({"A", "B"}), voter_id="C")

    def test_connected_owners_are_one_head(self):
        # A+B co-own u1 (designated voter B); A alone owns u2; C owns u3.
        # CONNECTED: {u1, u2} is one head (A is the same buyer of u1 and u2) whose
        # voter is B (the designation covers the whole head): 2 heads in total.
        units = [
            UnitHolding("u1", Decimal(50), frozenset({"A", "B"}), voter_id="B"),
            UnitHolding("u2", Decimal(60), frozenset({"A"})),
            UnitHolding("u3", Decimal(70), frozenset({"C"})),
        ]
        heads = merge_heads(units, {"B": "yes"})
        assert [(h.id, h.area, h.unit_ids, h.choice) for h in heads] == [
            ("B", Decimal(110), ("u1", "u2"), Y),
            ("C", Decimal(70), ("u3",), None),
        ]
        # A's own ballot would be a second ballot for the same head: rejected.
        with pytest.raises(TallyInputError, match="not a head's voter"):
            merge_heads(units, {"A": "yes", "B": "yes"})

    def test_connected_chain(self):
        # u1 {A,B}, u2 {B,C}: connected through B, so A, B, C are one head.
        # Designations A (on u1) and B (on u2) differ -> ambiguous, rejected.
        units = [
            UnitHolding("u1", Decimal(1), frozenset({"A", "B"}), voter_id="A"),
            UnitHolding("u2", Decimal(2), frozenset({"B", "C"}), voter_id="B"),
        ]
        with pytest.raises(TallyInputError, match="designate one voter"):
            merge_heads(units)
        # Designating B on both units resolves it: one head of area 3.
        units[0] = UnitHolding("u1", Decimal(1), frozenset({"A", "B"}), voter_id="B")
        (head,) = merge_heads(units, {"B": "abstain"})
        assert (head.id, head.area, head.unit_ids, head.choice) == ("B", 3, ("u1", "u2"), A)

    def test_designation_covers_connected_head(self):
        # u1 owned by A alone, u2 by B alone, u3 co-owned by A+B designated A:
        # designation A applies to the whole connected head {u1, u2, u3}.
        units = [
            UnitHolding("u1", Decimal(1), frozenset({"A"})),
            UnitHolding("u2", Decimal(2), frozenset({"B"})),
            UnitHolding("u3", Decimal(3), frozenset({"A", "B"}), voter_id="A"),
        ]
        (head,) = merge_heads(units)
        assert head.id == "A" and head.area == 6

    def test_exact_owner_set_policy(self):
        # EXACT_OWNER_SET: {A,B} and {A} are different buyers -> 3 heads, but the
        # co-owned unit must designate someone other than A (one person, one ballot).
        units = [
            UnitHolding("u1", Decimal(50), frozenset({"A", "B"}), voter_id="A"),
            UnitHolding("u2", Decimal(60), frozenset({"A"})),
            UnitHolding("u3", Decimal(70), frozenset({"C"})),
        ]
        with pytest.raises(TallyInputError, match="voter of two heads"):
            merge_heads(units, policy=MergePolicy.EXACT_OWNER_SET)
        units[0] = UnitHolding("u1", Decimal(50), frozenset({"A", "B"}), voter_id="B")
        heads = merge_heads(units, {"A": "yes"}, policy=MergePolicy.EXACT_OWNER_SET)
        assert [(h.id, h.unit_ids) for h in heads] == [
            ("A", ("u2",)),
            ("B", ("u1",)),
            ("C", ("u3",)),
        ]

    def test_developer_units_ignore_owner_ids(self):
        # Sold but undelivered: counts in the developer head, not the buyer's.
        units = [
            UnitHolding("u1", Decimal(1), frozenset({"A"}), developer=True),
            UnitHolding("u2", Decimal(2), frozenset({"A"})),
        ]
        heads = merge_heads(units)
        assert [(h.id, h.developer, h.area) for h in heads] == [
            ("A", False, 2),
            (DEVELOPER_HEAD_ID, True, 1),
        ]

    def test_merge_errors(self):
        with pytest.raises(TallyInputError, match="listed twice"):
            merge_heads(
                [
                    UnitHolding("u1", Decimal(1), frozenset({"A"})),
                    UnitHolding("u1", Decimal(1), frozenset({"B"})),
                ]
            )
        with pytest.raises(TallyInputError, match="reserved"):
            UnitHolding("u1", Decimal(1), frozenset({DEVELOPER_HEAD_ID}))
        with pytest.raises(TallyInputError, match="needs an owner"):
            UnitHolding("u1", Decimal(1))
        with pytest.raises(TallyInputError, match="unknown choice"):
            merge_heads([UnitHolding("u1", Decimal(1), frozenset({"A"}))], {"A": "maybe"})
        with pytest.raises(TallyInputError, match="not a head's voter"):
            merge_heads([UnitHolding("u1", Decimal(1), frozenset({"A"}))], {"Z": "yes"})


class TestInputValidation:
    def test_no_heads(self):
        with pytest.raises(TallyInputError):
            tally_owner_vote(Matter.COVENANT, [])

    def test_zero_total_area(self):
        with pytest.raises(TallyInputError, match="zero"):
            tally_owner_vote(Matter.COVENANT, heads_of((0, Y), ("0.00", N)))

    def test_zero_area_head_allowed_if_total_positive(self):
        out = tally_owner_vote(Matter.COVENANT, heads_of((0, Y), (10, None)))
        assert out.total_area == 10 and out.total_owners == 2

    def test_duplicate_ids(self):
        heads = [Head("x", False, Y, Decimal(1)), Head("x", False, N, Decimal(1))]
        with pytest.raises(TallyInputError, match="duplicate"):
            tally_owner_vote(Matter.COVENANT, heads)

    def test_unknown_matter(self):
        with pytest.raises(TallyInputError, match="unknown matter"):
            tally_owner_vote("elect_mayor", equal_heads(1, yes=1))
        assert tally_owner_vote("covenant", equal_heads(1, yes=1)).matter is Matter.COVENANT

    def test_is_a_value_error(self):
        assert issubclass(TallyInputError, ValueError)

    @pytest.mark.parametrize(
        "area",
        [1.5, True, None, Decimal("NaN"), Decimal("Infinity"), Decimal("-1"), "abc", "-2"],
    )
    def test_bad_head_area(self, area):
        with pytest.raises(TallyInputError):
            Head("h", False, Y, area)

    def test_head_coerces_choice_and_int_area(self):
        head = Head("h", False, "abstain", 12)  # type: ignore[arg-type]
        assert head.choice is A and head.area == Decimal(12)
        with pytest.raises(TallyInputError, match="unknown choice"):
            Head("h", False, "maybe", Decimal(1))  # type: ignore[arg-type]
        with pytest.raises(TallyInputError):
            Head("", False, None, Decimal(1))
        with pytest.raises(TallyInputError):
            Head("h", 1, None, Decimal(1))  # type: ignore[arg-type]


class TestExactArithmetic:
    def test_decimal_sum_beyond_default_precision(self):
        # 30 significant digits: the default context (prec=28) would round.
        big = Decimal("123456789012345678901234567.891")
        tiny = Decimal("0.000000000000000000000000001")
        out = tally_owner_vote(Matter.COVENANT, heads_of((big, Y), (tiny, Y)))
        assert out.total_area == Decimal("123456789012345678901234567.891000000000000000000000001")
        assert out.participating_area_ratio == 1

    def test_ambient_context_is_irrelevant(self):
        heads = heads_of(("89.50", Y), ("10.5", N), ("0.001", None))
        with decimal.localcontext() as ctx:
            ctx.prec = 2
            ctx.traps[decimal.Inexact] = True
            out = tally_owner_vote(Matter.COVENANT, heads)
        assert str(out.total_area) == "100.001"
        assert str(out.participating_area) == "100.00"

    def test_exact_sum_keeps_scale(self):
        assert str(exact_sum([Decimal("89.50"), Decimal("10.5")])) == "100.00"
        assert str(exact_sum([])) == "0"

    def test_no_float_in_results(self):
        out = tally_owner_vote(Matter.COVENANT, equal_heads(9, yes=6))
        for name in OwnerVoteOutcome.RATIO_FIELDS:
            assert type(getattr(out, name)) is Fraction
        for name in ("total_area", "participating_area", "agreeing_area"):
            assert type(getattr(out, name)) is Decimal


class TestFormatting:
    @pytest.mark.parametrize(
        ("value", "text"),
        [
            (Fraction(2, 3), "2/3 (66.67%)"),
            (Fraction(1, 8), "1/8 (12.50%)"),
            (Fraction(1, 800), "1/800 (0.13%)"),  # 0.125 rounds half-up
            (Fraction(1), "1/1 (100.00%)"),
            (Fraction(0), "0/1 (0.00%)"),
            (Fraction(601, 1000), "601/1000 (60.10%)"),
            (None, "n/a"),
        ],
    )
    def test_format_fraction(self, value, text):
        assert format_fraction(value) == text

    def test_format_percent_places(self):
        assert format_percent(Fraction(2, 3), 0) == "67%"
        assert format_percent(Fraction(2, 3), 4) == "66.6667%"

    def test_outcome_formats_all_ratios(self):
        out = tally_owner_vote(Matter.COVENANT, equal_heads(9, yes=4, no=2))
        assert out.formatted_ratios() == {
            "participating_area_ratio": "2/3 (66.67%)",
            "participating_owners_ratio": "2/3 (66.67%)",
            "agreeing_area_ratio": "2/3 (66.67%)",
            "agreeing_owners_ratio": "2/3 (66.67%)",
        }
        with pytest.raises(KeyError):
            out.format_ratio("total_area")

    def test_reason_never_shows_equal_percentages(self):
        # participating area 1999999/3000000 is just below 2/3 (2000000/3000000).
        heads = heads_of(("1999999", Y), ("1000001", None), ("1", Y), ("1", Y))
        out = tally_owner_vote(Matter.COVENANT, heads)
        # 2000001/3000002 < 2/3 (6000003 < 6000004), but both round to 66.67%.
        reason = out.condition("quorum_area").reason_en()
        match = re.search(r"([0-9.]+%) < ([0-9.]+%)", reason)
        assert match, reason
        got, need = match.groups()
        assert got != need and got.startswith("66.6666") and need.startswith("66.6666")


class TestMattersAndRules:
    def test_nine_matters_in_statutory_order(self):
        assert [m.value for m in Matter] == [
            "assembly_rules",
            "covenant",
            "committee",
            "property_company",
            "use_fund",
            "raise_fund",
            "alter_rebuild",
            "change_use",
            "other_major",
        ]
        assert [m.item for m in Matter] == list(range(1, 10))
        assert all(m.label_zh and m.label_en for m in Matter)
        assert Matter.RAISE_FUND.label_zh == "筹集建筑物及其附属设施的维修资金"

    def test_special_majority_is_items_6_to_8(self):
        assert {m.item for m in SPECIAL_MAJORITY} == {6, 7, 8}
        for m in Matter:
            expected = "art278_three_quarters" if m.item in (6, 7, 8) else "art278_double_majority"
            assert owner_vote_rule(m) == expected
            assert m.special_majority == (m.item in (6, 7, 8))

    def test_outcome_carries_descriptions(self):
        out = tally_owner_vote(Matter.CHANGE_USE, equal_heads(3, yes=3))
        assert "第二百七十八条" in out.rule_description_zh
        assert "Art. 278" in out.rule_description_en
        assert "3/4" in out.rule_description_en

    def test_thresholds(self):
        assert TWO_THIRDS_OR_MORE.is_met(Fraction(2, 3))
        assert not MORE_THAN_HALF.is_met(Fraction(1, 2))
        assert THREE_QUARTERS_OR_MORE.is_met(Fraction(3, 4))
        assert not THREE_QUARTERS_OR_MORE.is_met(None)
        with pytest.raises(TallyInputError):
            Threshold(0.5, True)  # type: ignore[arg-type]


class TestUnitArea:
    def test_precedence(self):
        assert unit_area("90.12", "91", "92") == (Decimal("90.12"), AreaSource.REGISTERED)
        assert unit_area(None, Decimal("91"), "92") == (Decimal(91), AreaSource.SURVEYED)
        assert unit_area(None, None, 92) == (Decimal(92), AreaSource.CONTRACT)

    def test_none_given(self):
        with pytest.raises(TallyInputError, match="no exclusive area"):
            unit_area(None, None, None)

    @pytest.mark.parametrize("bad", [0, "-1", 90.5, "abc", Decimal("NaN"), True])
    def test_invalid_given_value_is_an_error(self, bad):
        with pytest.raises(TallyInputError):
            unit_area(bad, "91", "92")


class TestResidentsMeeting:
    def test_exactly_half_present_is_not_enough(self):
        # 100 households, 50 present: 50/100 = 1/2, "过半数" needs > 1/2.
        out = tally_residents_meeting(100, 50, 50, MeetingBasis.HOUSEHOLDS)
        assert not out.quorum_met and not out.passed
        assert out.rule == "urc_art9_majority"
        assert "户的代表" in out.rule_description_zh

    def test_decision_by_more_than_half_of_present(self):
        # 51 of 100 present (quorum); 26/51 > 1/2 passes, 25/51 does not.
        assert tally_residents_meeting(100, 51, 26).passed
        out = tally_residents_meeting(100, 51, 25)
        assert out.quorum_met and not out.passed
        assert out.agreeing_ratio == Fraction(25, 51)
        # tie among an even number present: 30/60 fails
        assert not tally_residents_meeting(100, 60, 30).passed

    def test_bases(self):
        for basis in MeetingBasis:
            assert tally_residents_meeting(3, 2, 2, basis).passed
        assert tally_residents_meeting(3, 2, 2, "delegates").basis is MeetingBasis.DELEGATES

    def test_nobody_present(self):
        out = tally_residents_meeting(10, 0, 0)
        assert not out.quorum_met and out.agreeing_ratio is None

    @pytest.mark.parametrize("args", [(0, 0, 0), (10, 11, 0), (10, 5, 6), (-1, 0, 0), (10, True, 0), (10, 5, 2.0)])
    def test_invalid(self, args):
        with pytest.raises(TallyInputError):
            tally_residents_meeting(*args)

    def test_unknown_basis(self):
        with pytest.raises(TallyInputError):
            tally_residents_meeting(10, 6, 6, "tenants")


class TestConsent:
    def test_eighty_percent_inclusive(self):
        rule = ConsentRule(threshold=Fraction(4, 5), inclusive=True, base="eligible")
        assert rule.base is ConsentBase.ELIGIBLE
        assert rule.id == "consent_ge_4_5_of_eligible"
        # 80/100 = 4/5 -> inclusive bound met; 79/100 not.
        assert tally_consent(rule, 100, 80).passed
        out = tally_consent(rule, 100, 79)
        assert not out.passed and out.quorum_met
        assert out.reasons_en == ("not passed: agreeing / all eligible 79.00% < 80.00% (79/100 < 4/5)",)

    def test_strict(self):
        rule = ConsentRule(Fraction(4, 5), inclusive=False)
        assert rule.id == "consent_gt_4_5_of_eligible"
        assert not tally_consent(rule, 100, 80).passed
        assert tally_consent(rule, 100, 81).passed

    def test_participating_base_with_min_participation(self):
        rule = ConsentRule(Fraction(1, 2), inclusive=False, base="participating", min_participation=Fraction(1, 2))
        assert rule.id == "consent_gt_1_2_of_participating_quorum_ge_1_2"
        # 50 of 100 responded (1/2 >= 1/2), 26 agree: 26/50 > 1/2.
        out = tally_consent(rule, 100, 26, participating=50)
        assert out.quorum_met and out.passed
        # 49 responded: participation 49/100 < 1/2.
        out = tally_consent(rule, 100, 40, participating=49)
        assert not out.quorum_met and not out.passed
        with pytest.raises(TallyInputError, match="needs the number participating"):
            tally_consent(rule, 100, 26)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"threshold": 0.8},
            {"threshold": Fraction(6, 5)},
            {"threshold": Fraction(0), "inclusive": True},
            {"threshold": Fraction(1), "inclusive": False},
            {"threshold": Fraction(1, 2), "base": "everyone"},
            {"threshold": Fraction(1, 2), "min_participation": Fraction(0)},
        ],
    )
    def test_invalid_rules(self, kwargs):
        with pytest.raises(TallyInputError):
            ConsentRule(**kwargs)

    def test_unanimity(self):
        rule = ConsentRule(1)
        assert rule.threshold == Fraction(1) and rule.id == "consent_ge_1_1_of_eligible"
        assert tally_consent(rule, 7, 7).passed and not tally_consent(rule, 7, 6).passed

    @pytest.mark.parametrize("args", [(0, 0), (10, 11), (10, -1)])
    def test_invalid_counts(self, args):
        with pytest.raises(TallyInputError):
            tally_consent(ConsentRule(Fraction(4, 5)), *args)
        with pytest.raises(TallyInputError):
            tally_consent(ConsentRule(Fraction(4, 5)), 10, 5, participating=4)


# ------------------------------------------------------------- property tests

choices = st.sampled_from([Y, N, A, None])
int_areas = st.integers(min_value=0, max_value=10**7)


@given(
    matter=st.sampled_from(list(Matter)),
    heads=st.lists(st.tuples(int_areas, choices), min_size=1, max_size=40),
)
def test_matches_reference(matter, heads):
    assume(sum(a for a, _ in heads) > 0)
    assert_matches_reference(matter, heads)


def split(total: int, parts: int, cuts: list[int]) -> list[int]:
    """Split a non-negative integer into `parts` non-negative integers."""
    points = sorted(c % (total + 1) for c in cuts[: parts - 1])
    bounds = [0, *points, total]
    return [bounds[i + 1] - bounds[i] for i in range(parts)]


@st.composite
def at_area_bound(draw, p: int, q: int):
    """(part_areas, rest_areas) with sum(part) / (sum(part) + sum(rest)) == p/q exactly."""
    base = draw(st.lists(st.integers(1, 10**5), min_size=1, max_size=12))
    part = [a * p for a in base]
    rest_total = sum(base) * (q - p)
    n_rest = draw(st.integers(1, max(1, len(part) // 4) or 1))
    cuts = draw(st.lists(st.integers(0, 10**9), min_size=n_rest, max_size=n_rest))
    return part, split(rest_total, n_rest, cuts)


@given(data=at_area_bound(2, 3), matter=st.sampled_from(list(Matter)))
def test_quorum_area_exactly_two_thirds(data, matter):
    part, rest = data
    # Participants vote yes, absentees hold exactly 1/3 of the area.  The absentees
    # are at most a quarter of the heads, so headcount quorum is met.
    heads = [(a, Y) for a in part] + [(a, None) for a in rest]
    assume(3 * len(part) >= 2 * len(heads))
    out = assert_matches_reference(matter, heads)
    assert out.participating_area_ratio == Fraction(2, 3)
    assert out.quorum_met and out.passed
    # Move one unit of area (10^-4 m²) from a participant to an absentee: below 2/3.
    i = max(range(len(part)), key=lambda k: part[k])
    below = [(a - (k == i), Y) for k, a in enumerate(part)] + [(a + (k == 0), None) for k, a in enumerate(rest)]
    out = assert_matches_reference(matter, below)
    assert not out.quorum_met and not out.passed
    # And the other way round: above 2/3.
    j = max(range(len(rest)), key=lambda k: rest[k])
    if rest[j] > 0:
        above = [(a + (k == 0), Y) for k, a in enumerate(part)] + [(a - (k == j), None) for k, a in enumerate(rest)]
        assert assert_matches_reference(matter, above).quorum_met


@given(data=at_area_bound(3, 4), matter=st.sampled_from(SPECIAL))
def test_agree_area_exactly_three_quarters(data, matter):
    yes, no = data
    # Everyone votes (quorum met); "no" heads are at most a quarter of "yes" heads so
    # the headcount condition holds and the area condition decides.
    heads = [(a, Y) for a in yes] + [(a, N) for a in no]
    assume(4 * len(yes) >= 3 * len(heads))
    out = assert_matches_reference(matter, heads)
    assert out.agreeing_area_ratio == Fraction(3, 4)
    assert out.passed  # 以上: inclusive
    i = max(range(len(yes)), key=lambda k: yes[k])
    below = [(a - (k == i), Y) for k, a in enumerate(yes)] + [(a + (k == 0), N) for k, a in enumerate(no)]
    assert not assert_matches_reference(matter, below).passed


@given(data=at_area_bound(1, 2), matter=st.sampled_from(ORDINARY))
def test_agree_area_exactly_half(data, matter):
    yes, no = data
    heads = [(a, Y) for a in yes] + [(a, N) for a in no]
    assume(2 * len(yes) > len(heads))
    out = assert_matches_reference(matter, heads)
    assert out.agreeing_area_ratio == Fraction(1, 2)
    assert not out.passed  # 过半数: strict
    # One unit of area more for the yes side passes.
    j = max(range(len(no)), key=lambda m: no[m])  # no[j] >= 1 since sum(no) >= 1
    above = [(a + (k == 0), Y) for k, a in enumerate(yes)] + [(a - (k == j), N) for k, a in enumerate(no)]
    assert assert_matches_reference(matter, above).passed


@given(k=st.integers(1, 60), matter=st.sampled_from(list(Matter)))
def test_headcount_bounds(k, matter):
    # Quorum: 3k heads, 2k participate -> exactly 2/3 met; 2k - 1 -> not met.
    assert tally_owner_vote(matter, equal_heads(3 * k, yes=2 * k)).quorum_met
    assert not tally_owner_vote(matter, equal_heads(3 * k, yes=2 * k - 1)).quorum_met
    if matter in SPECIAL_MAJORITY:
        # 4k all vote, 3k yes -> exactly 3/4 passes; 3k - 1 yes -> fails.
        assert tally_owner_vote(matter, equal_heads(4 * k, yes=3 * k, no=k)).passed
        assert not tally_owner_vote(matter, equal_heads(4 * k, yes=3 * k - 1, no=k + 1)).passed
    else:
        # 2k all vote, k yes -> exactly 1/2 fails; k + 1 yes passes.
        assert not tally_owner_vote(matter, equal_heads(2 * k, yes=k, no=k)).passed
        assert tally_owner_vote(matter, equal_heads(2 * k + 1, yes=k + 1, no=k)).passed


@given(
    matter=st.sampled_from(list(Matter)),
    heads=st.lists(st.tuples(int_areas, choices), min_size=1, max_size=25),
    index=st.integers(0, 24),
    new=st.sampled_from([Y, A]),
)
def test_monotonicity(matter, heads, index, new):
    """More support never hurts: turning a vote (or an absence) into YES never
    turns a passing vote into a failing one, and taking part never loses quorum."""
    assume(sum(a for a, _ in heads) > 0)
    index %= len(heads)
    before = tally_ints(matter, heads)
    changed = list(heads)
    old = changed[index][1]
    changed[index] = (changed[index][0], new)
    after = tally_ints(matter, changed)
    if old is None:
        assert after.participating_owners == before.participating_owners + 1
        if before.quorum_met:
            assert after.quorum_met
    if new is Y and before.passed:
        assert after.passed


@given(values=st.lists(st.decimals(min_value=0, max_value=10**12, places=4, allow_nan=False), min_size=1))
def test_exact_sum_matches_fraction_sum(values):
    assert Fraction(exact_sum(values)) == sum((Fraction(v) for v in values), Fraction(0))


@given(
    num=st.integers(0, 10**6),
    den=st.integers(1, 10**6),
    places=st.integers(0, 6),
)
def test_format_percent_is_correctly_rounded(num, den, places):
    text = format_percent(Fraction(num, den), places)
    shown = Fraction(Decimal(text[:-1]))
    exact = Fraction(num * 100, den)
    # Within half a unit in the last place, ties rounded up.
    assert abs(shown - exact) <= Fraction(1, 2 * 10**places)
    if abs(shown - exact) == Fraction(1, 2 * 10**places):
        assert shown > exact


@given(
    eligible=st.integers(1, 500),
    data=st.data(),
    num=st.integers(1, 20),
    den=st.integers(1, 20),
    inclusive=st.booleans(),
)
def test_consent_matches_reference(eligible, data, num, den, inclusive):
    assume(num <= den and not (not inclusive and num == den))
    agreeing = data.draw(st.integers(0, eligible))
    rule = ConsentRule(Fraction(num, den), inclusive=inclusive)
    out = tally_consent(rule, eligible, agreeing)
    expected = agreeing * den >= num * eligible if inclusive else agreeing * den > num * eligible
    assert out.passed == expected


@given(eligible=st.integers(1, 500), data=st.data())
def test_residents_meeting_matches_reference(eligible, data):
    present = data.draw(st.integers(0, eligible))
    agreeing = data.draw(st.integers(0, present))
    out = tally_residents_meeting(eligible, present, agreeing)
    assert out.quorum_met == (2 * present > eligible)
    assert out.passed == (2 * present > eligible and 2 * agreeing > present)


# --------------------------------------------------------------- purity checks

ALLOWED_IMPORTS = {
    "__future__",
    "collections.abc",
    "dataclasses",
    "decimal",
    "enum",
    "fractions",
}


def test_tally_imports_only_stdlib_arithmetic():
    tree = ast.parse(TALLY_PY.read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0
            imported.add(node.module or "")
    assert imported <= ALLOWED_IMPORTS, imported - ALLOWED_IMPORTS


def test_tally_has_no_float_literals():
    tree = ast.parse(TALLY_PY.read_text(encoding="utf-8"))
    floats = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Constant) and type(n.value) is float]
    assert floats == []


def test_importing_does_not_load_django():
    code = (
        "import sys; import gongzhi.voting.tally, gongzhi.voting.recount; "
        "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)
