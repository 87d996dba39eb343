"""Tests for the cost-share rule and ``python -m gongzhi.renovation.shares FILE``.

No Django, no database: the rule is pure.  The CLI contract (stdout, stderr, exit
status) is checked through a real subprocess.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gongzhi.renovation.shares import (
    Household,
    ShareRequest,
    SharesInputError,
    compute_shares,
    fen_text,
    main,
    parse_request,
)

REPO_ROOT = Path(__file__).resolve().parents[3]


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONSAFEPATH", "DJANGO_SETTINGS_MODULE")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "gongzhi.renovation.shares", *map(str, args)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def write(tmp_path: Path, content: Any, name: str = "bill.json") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def run_doc(doc: Any) -> tuple[int, str, str]:
    """The command in-process on a document (fast, for many cases)."""
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
        fh.write(doc if isinstance(doc, str) else json.dumps(doc))
        path = fh.name
    try:
        out, err = io.StringIO(), io.StringIO()
        code = main([path], stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()
    finally:
        os.unlink(path)


# --- the rule, worked examples -----------------------------------------------------------------


def test_household_basis_odd_fen_go_to_the_first_listed():
    code, out, err = run_doc(
        {"amount": "100.00", "basis": "household", "households": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}
    )
    assert code == 0, err
    assert json.loads(out) == {
        "shares": {"a": "33.34", "b": "33.33", "c": "33.33"},
        "total": "100.00",
        "uncovered": "0.00",
    }
    assert out.count("\n") == 1


def test_area_basis_largest_remainder_wins_the_fen():
    # 10.00 over areas 1, 2: exact 3.333… and 6.666…; floors 333 + 666 = 999, one fen to b (.67 > .33).
    result = compute_shares(
        ShareRequest(
            amount=Decimal("10.00"),
            basis="area",
            households=(Household("a", area=Decimal("1")), Household("b", area=Decimal("2"))),
        )
    )
    assert result.shares_fen == {"a": 333, "b": 667}
    assert result.total_fen == 1000 and result.uncovered_fen == 0


def test_floor_area_lift_floors_not_listed_pay_nothing_and_cap_leaves_uncovered():
    doc = {
        "amount": "60000.00",
        "basis": "floor_area",
        "coefficients": {"3": "0.7", "4": "0.8", "5": "0.9", "6": "1.0"},
        "cap": "2000.00",
        "households": [
            {"id": "h1", "area": "89.50", "floor": 1},
            {"id": "h2", "area": "89.50", "floor": 3},
            {"id": "h3", "area": "75", "floor": 4},
            {"id": "h4", "area": "75", "floor": 6},
        ],
    }
    code, out, _ = run_doc(doc)
    assert code == 0
    assert json.loads(out) == {
        "shares": {"h1": "0.00", "h2": "2000.00", "h3": "2000.00", "h4": "2000.00"},
        "total": "6000.00",
        "uncovered": "54000.00",
    }


def test_floor_area_uncapped_exact_shares():
    # weights 0.7*100 = 70 and 1.0*30 = 30 of 100 → 700.00 and 300.00
    doc = {
        "amount": "1000.00",
        "basis": "floor_area",
        "coefficients": {"3": "0.7", "6": "1.0"},
        "households": [{"id": "x", "area": "100", "floor": 3}, {"id": "y", "area": "30", "floor": 6}],
    }
    assert json.loads(run_doc(doc)[1])["shares"] == {"x": "700.00", "y": "300.00"}


def test_total_is_half_up_of_capped_exact_sum():
    # areas 1, 1, 2 share 0.05: exact 1.25, 1.25, 2.5 fen; cap 2 fen → 1.25 + 1.25 + 2 = 4.5 → 5 fen (half up).
    r = compute_shares(
        ShareRequest(
            amount=Decimal("0.05"),
            basis="area",
            households=(
                Household("a", area=Decimal(1)),
                Household("b", area=Decimal(1)),
                Household("c", area=Decimal(2)),
            ),
            cap=Decimal("0.02"),
        )
    )
    assert r.total_fen == 5 and r.uncovered_fen == 0
    assert r.shares_fen == {"a": 2, "b": 1, "c": 2}  # the tie between a and b goes to a


def test_total_rounds_down_below_half():
    # areas 1, 3 share 0.05: exact 1.25 and 3.75 fen; cap 3 fen → 1.25 + 3 = 4.25 → 4 fen, 1 fen uncovered.
    r = compute_shares(
        ShareRequest(
            amount=Decimal("0.05"),
            basis="area",
            households=(Household("a", area=Decimal(1)), Household("b", area=Decimal(3))),
            cap=Decimal("0.03"),
        )
    )
    assert r.total_fen == 4 and r.uncovered_fen == 1
    assert r.shares_fen == {"a": 1, "b": 3}


def test_compute_rejects_amounts_that_are_not_whole_fen():
    with pytest.raises(SharesInputError):
        compute_shares(ShareRequest(amount=Decimal("0.001"), basis="household", households=(Household("a"),)))
    with pytest.raises(SharesInputError):
        compute_shares(
            ShareRequest(amount=Decimal("1"), basis="household", households=(Household("a"),), cap=Decimal("0.005"))
        )


def test_zero_amount_is_allowed():
    code, out, _ = run_doc({"amount": "0", "basis": "household", "households": [{"id": "a"}]})
    assert code == 0 and json.loads(out) == {"shares": {"a": "0.00"}, "total": "0.00", "uncovered": "0.00"}


def test_cap_exactly_at_the_share_is_not_uncovered():
    doc = {"amount": "4000.00", "basis": "household", "cap": "2000.00", "households": [{"id": "a"}, {"id": "b"}]}
    assert json.loads(run_doc(doc)[1]) == {
        "shares": {"a": "2000.00", "b": "2000.00"},
        "total": "4000.00",
        "uncovered": "0.00",
    }
    doc["cap"] = "1999.99"
    assert json.loads(run_doc(doc)[1]) == {
        "shares": {"a": "1999.99", "b": "1999.99"},
        "total": "3999.98",
        "uncovered": "0.02",
    }


def test_extra_keys_and_unneeded_fields_are_ignored():
    doc = {
        "amount": "10",
        "basis": "household",
        "note": 1.5,
        "households": [{"id": "a", "area": "bad", "floor": "x"}, {"id": "b"}],
    }
    code, out, _ = run_doc(doc)
    assert code == 0 and json.loads(out)["shares"] == {"a": "5.00", "b": "5.00"}


def test_fen_text():
    assert fen_text(0) == "0.00" and fen_text(5) == "0.05" and fen_text(123456) == "1234.56"


# --- properties --------------------------------------------------------------------------------

money = st.integers(min_value=0, max_value=10**9).map(lambda fen: Decimal(fen) / 100)
areas = st.decimals(min_value=0, max_value=500, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def requests(draw) -> ShareRequest:
    basis = draw(st.sampled_from(["household", "area", "floor_area"]))
    n = draw(st.integers(min_value=1, max_value=25))
    coefficients = draw(
        st.dictionaries(
            st.integers(min_value=1, max_value=12),
            st.decimals(min_value=0, max_value=2, places=2, allow_nan=False, allow_infinity=False),
            max_size=12,
        )
    )
    households = tuple(
        Household(
            id=f"h{i}",
            area=draw(areas),
            floor=draw(st.integers(min_value=1, max_value=12)),
        )
        for i in range(n)
    )
    if basis == "area":
        households += (Household(id="anchor", area=Decimal("1")),)
    if basis == "floor_area":
        coefficients[99] = Decimal("1")
        households += (Household(id="anchor", area=Decimal("1"), floor=99),)
    cap = draw(st.none() | money)
    return ShareRequest(amount=draw(money), basis=basis, households=households, cap=cap, coefficients=coefficients)


@settings(max_examples=300, deadline=None)
@given(requests())
def test_shares_add_up_exactly_and_never_exceed_the_cap(request):
    result = compute_shares(request)
    assert sum(result.shares_fen.values()) == result.total_fen
    assert result.total_fen + result.uncovered_fen == round(request.amount * 100)
    assert result.uncovered_fen >= 0
    assert all(fen >= 0 for fen in result.shares_fen.values())
    if request.cap is not None:
        assert all(fen <= request.cap * 100 for fen in result.shares_fen.values())
    else:
        assert result.uncovered_fen == 0
    # Each share is within one fen of its exact (capped) share.
    total_weight = sum(result.weights.values())
    for h in request.households:
        exact = Fraction(request.amount) * result.weights[h.id] / total_weight
        if request.cap is not None:
            exact = min(exact, Fraction(request.cap))
        assert abs(result.shares_fen[h.id] - exact * 100) < 1


def reference(request: ShareRequest) -> dict[str, int]:
    """The rule as the issue words it, in plain Fractions: the oracle for the integer implementation."""
    import math

    weights = {}
    for h in request.households:
        if request.basis == "household":
            weights[h.id] = Fraction(1)
        elif request.basis == "area":
            weights[h.id] = Fraction(h.area)
        else:
            c = request.coefficients.get(h.floor)
            weights[h.id] = Fraction(0) if c is None else Fraction(c) * Fraction(h.area)
    total = sum(weights.values())
    exact = {}
    for key, w in weights.items():
        share = Fraction(request.amount) * w / total
        if request.cap is not None:
            share = min(share, Fraction(request.cap))
        exact[key] = share * 100
    total_fen = math.floor(sum(exact.values()) + Fraction(1, 2))
    fen = {k: math.floor(v) for k, v in exact.items()}
    ids = list(exact)
    order = sorted(range(len(ids)), key=lambda i: (-(exact[ids[i]] - fen[ids[i]]), i))
    for i in order[: total_fen - sum(fen.values())]:
        fen[ids[i]] += 1
    return fen


@settings(max_examples=300, deadline=None)
@given(requests())
def test_matches_the_plain_fraction_reference(request):
    assert compute_shares(request).shares_fen == reference(request)


@settings(max_examples=300, deadline=None)
@given(
    amount=money,
    cap=st.none() | money,
    area=areas.filter(lambda a: a > 0),
    n=st.integers(min_value=1, max_value=40),
    others=st.lists(areas, max_size=10),
)
def test_equal_weights_differ_by_at_most_one_fen(amount, cap, area, n, others):
    households = tuple(Household(f"same{i}", area=area) for i in range(n))
    households += tuple(Household(f"o{i}", area=a) for i, a in enumerate(others))
    result = compute_shares(ShareRequest(amount=amount, basis="area", households=households, cap=cap))
    same = [result.shares_fen[f"same{i}"] for i in range(n)]
    assert max(same) - min(same) <= 1
    # and the extra fen go to the first listed among equals
    assert same == sorted(same, reverse=True)


@settings(max_examples=100, deadline=None)
@given(amount=money, n=st.integers(min_value=1, max_value=30))
def test_household_basis_matches_divmod(amount, n):
    fen = round(amount * 100)
    result = compute_shares(
        ShareRequest(amount=amount, basis="household", households=tuple(Household(f"h{i}") for i in range(n)))
    )
    base, extra = divmod(fen, n)
    assert list(result.shares_fen.values()) == [base + 1] * extra + [base] * (n - extra)


# --- malformed input ---------------------------------------------------------------------------

GOOD = {"amount": "100.00", "basis": "household", "households": [{"id": "a"}, {"id": "b"}]}
LIFT = {
    "amount": "100.00",
    "basis": "floor_area",
    "coefficients": {"3": "0.7"},
    "households": [{"id": "a", "area": "80", "floor": 3}],
}


def _with(base: dict, **changes: Any) -> dict:
    doc = json.loads(json.dumps(base))
    for key, value in changes.items():
        if value is ...:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


MALFORMED: list[tuple[str, Any, str]] = [
    ("unknown basis", _with(GOOD, basis="volume"), "basis"),
    ("missing basis", _with(GOOD, basis=...), "basis"),
    ("no households", _with(GOOD, households=[]), "no households"),
    ("households not a list", _with(GOOD, households={"id": "a"}), "households"),
    ("household not an object", _with(GOOD, households=["a"]), "household #1"),
    ("missing id", _with(GOOD, households=[{"area": "1"}]), "id"),
    ("duplicate id", _with(GOOD, households=[{"id": "a"}, {"id": "a"}]), "duplicate id"),
    ("missing amount", _with(GOOD, amount=...), "missing amount"),
    ("negative amount", _with(GOOD, amount="-1.00"), "amount is negative"),
    ("amount not a decimal", _with(GOOD, amount="12a"), "amount is not a decimal"),
    ("amount empty", _with(GOOD, amount=""), "amount is not a decimal"),
    ("amount exponent", _with(GOOD, amount="1e3"), "amount is not a decimal"),
    ("amount full-width digits", _with(GOOD, amount="１２"), "amount is not a decimal"),
    ("amount JSON number", _with(GOOD, amount=100), "amount must be a decimal string"),
    ("amount three decimals", _with(GOOD, amount="1.234"), "amount has more than two decimals"),
    ("negative cap", _with(GOOD, cap="-5"), "cap is negative"),
    ("cap not a decimal", _with(GOOD, cap="lots"), "cap is not a decimal"),
    ("cap three decimals", _with(GOOD, cap="2000.001"), "cap has more than two decimals"),
    ("cap a number", _with(GOOD, cap=2000), "cap must be a decimal string"),
    ("area basis missing area", _with(GOOD, basis="area"), "missing area"),
    ("area basis bad area", _with(GOOD, basis="area", households=[{"id": "a", "area": "-3"}]), "area"),
    ("area basis numeric area", _with(GOOD, basis="area", households=[{"id": "a", "area": 80}]), "area"),
    ("area basis zero total", _with(GOOD, basis="area", households=[{"id": "a", "area": "0"}]), "total weight"),
    ("floor_area missing floor", _with(LIFT, households=[{"id": "a", "area": "80"}]), "missing floor"),
    ("floor_area string floor", _with(LIFT, households=[{"id": "a", "area": "80", "floor": "3"}]), "floor"),
    ("floor_area float floor", _with(LIFT, households=[{"id": "a", "area": "80", "floor": 3.0}]), "floor"),
    ("floor_area bool floor", _with(LIFT, households=[{"id": "a", "area": "80", "floor": True}]), "floor"),
    ("floor_area missing area", _with(LIFT, households=[{"id": "a", "floor": 3}]), "missing area"),
    ("floor_area missing coefficients", _with(LIFT, coefficients=...), "coefficients"),
    ("floor_area coefficients a list", _with(LIFT, coefficients=["0.7"]), "coefficients"),
    ("floor_area bad coefficient", _with(LIFT, coefficients={"3": "-0.7"}), "coefficient of floor 3"),
    ("floor_area numeric coefficient", _with(LIFT, coefficients={"3": 0.7}), "coefficient of floor 3"),
    ("floor_area bad floor key", _with(LIFT, coefficients={"third": "0.7"}), "not an integer"),
    ("floor_area same floor twice", _with(LIFT, coefficients={"3": "0.7", "03": "0.8"}), "listed twice"),
    (
        "floor_area zero total",
        _with(LIFT, households=[{"id": "a", "area": "80", "floor": 1}]),
        "total weight is zero",
    ),
    ("top level a list", [GOOD], "top level"),
]


@pytest.mark.parametrize(("name", "doc", "needle"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_input_exits_2_naming_the_problem(name, doc, needle):
    code, out, err = run_doc(doc)
    assert code == 2, name
    assert out == ""
    assert needle in err
    assert "错误" in err  # Chinese first


@pytest.mark.parametrize(
    "raw",
    ['{"amount": "1", "amount": "2", "basis": "household", "households": [{"id": "a"}]}', "{not json", "NaN"],
)
def test_malformed_json_exits_2(raw):
    code, out, err = run_doc(raw)
    assert code == 2 and out == "" and err


def test_parse_request_rejects_what_compute_would():
    with pytest.raises(SharesInputError):
        parse_request(_with(GOOD, households=[{"id": "a"}, {"id": "a"}]))
    with pytest.raises(SharesInputError):
        compute_shares(ShareRequest(amount=Decimal(1), basis="household", households=(Household("a"), Household("a"))))


# --- the command as a process ------------------------------------------------------------------


def test_cli_success_one_json_line(tmp_path):
    proc = run_cli(write(tmp_path, GOOD))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == {"shares": {"a": "50.00", "b": "50.00"}, "total": "100.00", "uncovered": "0.00"}


@pytest.mark.parametrize(("name", "doc", "needle"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_cli_malformed_exits_2(tmp_path, name, doc, needle):
    proc = run_cli(write(tmp_path, doc))
    assert proc.returncode == 2, (name, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [(), ("a.json", "b.json")])
def test_cli_usage_exits_2(args):
    proc = run_cli(*args)
    assert proc.returncode == 2 and "usage" in proc.stderr and proc.stdout == ""


def test_cli_missing_file_exits_2(tmp_path):
    proc = run_cli(tmp_path / "nope.json")
    assert proc.returncode == 2 and "file not found" in proc.stderr


def test_cli_imports_no_django(tmp_path):
    # The command must run where Django is absent: check it never imports it.
    code = (
        f"import runpy, sys; sys.argv=['x', {str(write(tmp_path, GOOD))!r}]\n"
        "try:\n    runpy.run_module('gongzhi.renovation.shares', run_name='__main__')\n"
        "except SystemExit: pass\n"
        "assert 'django' not in sys.modules, 'django imported'\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
