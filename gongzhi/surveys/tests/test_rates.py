"""The three rates: exact rounding, Wilson bounds, census, targets, and the command on every malformed input."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gongzhi.surveys import rates
from gongzhi.surveys.rates import ResponseRow, compute, round4, wilson, wilson_lower_at_least

ROOT = Path(__file__).resolve().parents[3]


def float_wilson(k: int, n: int) -> tuple[float, float]:
    """An independent float reference (textbook form), good to ~1e-12."""
    z = 1.96
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@given(st.integers(0, 10**6), st.integers(1, 10**6))
def test_round4_is_half_to_even_of_the_exact_fraction(k, n):
    k = k % (n + 1)
    assert Fraction(round4(k, n)) == round(Fraction(k, n), 4)


def test_round4_ties_go_to_even():
    assert str(round4(1, 32)) == "0.0312"  # 0.03125
    assert str(round4(3, 32)) == "0.0938"  # 0.09375
    assert str(round4(1, 20000)) == "0.0000"  # 0.00005
    assert str(round4(3, 20000)) == "0.0002"  # 0.00015


@settings(max_examples=300)
@given(st.integers(1, 5000), st.data())
def test_wilson_bounds_contain_rate_and_match_reference(n, data):
    k = data.draw(st.integers(0, n))
    low, high = wilson(k, n)
    rate = round4(k, n)
    assert Decimal(0) <= low <= rate <= high <= Decimal(1)
    flo, fhi = float_wilson(k, n)
    assert abs(float(low) - flo) <= 0.00005 + 1e-9
    assert abs(float(high) - fhi) <= 0.00005 + 1e-9
    if k == 0:
        assert low == 0
    if k == n:
        assert high == 1


def test_wilson_known_values():
    assert wilson(92, 100) == (Decimal("0.8500"), Decimal("0.9589"))
    assert wilson(0, 10) == (Decimal("0.0000"), Decimal("0.2775"))


@settings(max_examples=300)
@given(st.integers(1, 2000), st.data(), st.integers(0, 10000))
def test_exact_target_check_agrees_with_high_precision_bound(n, data, t):
    k = data.draw(st.integers(0, n))
    target = Fraction(t, 10000)
    import decimal

    with decimal.localcontext() as ctx:
        ctx.prec = 80
        kd, nd, z = Decimal(k), Decimal(n), Decimal("1.96")
        low = (kd + z * z / 2 - z * (kd * (nd - kd) / nd + z * z / 4).sqrt()) / (nd + z * z)
    if abs(low - Decimal(t) / 10000) > Decimal("1e-40"):
        assert wilson_lower_at_least(k, n, target) == (low >= Decimal(t) / 10000)


households_st = st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=40, unique=True)


@st.composite
def scopes(draw):
    hh = draw(households_st)
    answering = draw(st.lists(st.sampled_from(hh), unique=True))
    rows = [
        ResponseRow(h, draw(st.one_of(st.none(), st.booleans())), draw(st.one_of(st.none(), st.integers(1, 5))))
        for h in answering
    ]
    participants = draw(st.lists(st.sampled_from(hh)))
    return hh, rows, participants


@settings(max_examples=300)
@given(scopes(), st.integers(1, 5), st.integers(0, 100))
def test_report_properties(scope, satisfied_from, pct):
    hh, rows, participants = scope
    target = Decimal(pct) / 100
    r = compute(hh, rows, participants, satisfied_from=satisfied_from, target=target)
    assert r.households == len(hh)
    assert r.response.numerator == len(rows)
    assert r.census == (len(rows) == len(hh))
    assert r.participation.numerator == len(set(participants))
    assert r.participation.denominator == len(hh)
    assert r.participation.target_met == (Fraction(len(set(participants)), len(hh)) >= Fraction(target))
    aware = [x.aware for x in rows if x.aware is not None]
    assert (r.awareness.numerator, r.awareness.denominator) == (sum(aware), len(aware))
    rated = [x.satisfaction for x in rows if x.satisfaction is not None]
    assert r.satisfaction.denominator == len(rated)
    assert r.satisfaction.numerator == sum(1 for s in rated if s >= satisfied_from)
    for f in (r.awareness, r.satisfaction):
        if f.denominator == 0:
            assert f.rate is f.low is f.high is None
            assert f.target_met is False
            continue
        assert 0 <= f.low <= f.rate <= f.high <= 1
        if r.census:
            assert f.low == f.rate == f.high
            assert f.target_met == (Fraction(f.numerator, f.denominator) >= Fraction(target))
        else:
            assert f.target_met == wilson_lower_at_least(f.numerator, f.denominator, Fraction(target))
            # the lower bound never clears a target the rate itself does not
            if f.target_met:
                assert Fraction(f.numerator, f.denominator) >= Fraction(target)


def test_no_target_means_no_verdict():
    out = compute(["a", "b"], [ResponseRow("a", True, 5)], ["a"]).as_json()
    assert "target_met" not in out["awareness"]
    assert "target_met" not in out["participation"]
    assert out["response"] == {"numerator": 1, "denominator": 2, "rate": "0.5000"}


def run(payload: str | bytes, tmp_path) -> subprocess.CompletedProcess:
    f = tmp_path / "in.json"
    f.write_bytes(payload if isinstance(payload, bytes) else payload.encode())
    return subprocess.run(
        [sys.executable, "-m", "gongzhi.surveys.rates", str(f)], capture_output=True, text=True, cwd=ROOT
    )


def test_command_output_is_one_line_of_json(tmp_path):
    doc = {
        "households": ["h1", "h2", "h3", "h4"],
        "responses": [
            {"household": "h1", "aware": True, "satisfaction": 5},
            {"household": "h2", "aware": True, "satisfaction": 3},
            {"household": "h3", "aware": False, "satisfaction": None},
        ],
        "participants": ["h1", "h2", "h2", "h4"],
        "satisfied_from": 3,
        "target": "0.5",
    }
    p = run(json.dumps(doc), tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("\n") == 1
    out = json.loads(p.stdout)
    lo, hi = wilson(2, 3)
    assert out == {
        "households": 4,
        "response": {"numerator": 3, "denominator": 4, "rate": "0.7500"},
        "awareness": {
            "numerator": 2,
            "denominator": 3,
            "rate": "0.6667",
            "low": str(lo),
            "high": str(hi),
            "target_met": wilson_lower_at_least(2, 3, Fraction(1, 2)),
        },
        "participation": {"numerator": 3, "denominator": 4, "rate": "0.7500", "target_met": True},
        "satisfaction": {
            "numerator": 2,
            "denominator": 2,
            "rate": "1.0000",
            "low": str(wilson(2, 2)[0]),
            "high": "1.0000",
            "target_met": wilson_lower_at_least(2, 2, Fraction(1, 2)),
        },
    }


def test_command_census_and_empty_denominator(tmp_path):
    doc = {"households": ["a", "b"], "responses": [{"household": "a", "aware": True}, {"household": "b"}]}
    out = json.loads(run(json.dumps(doc), tmp_path).stdout)
    assert out["awareness"] == {"numerator": 1, "denominator": 1, "rate": "1.0000", "low": "1.0000", "high": "1.0000"}
    assert out["satisfaction"] == {"numerator": 0, "denominator": 0, "rate": None, "low": None, "high": None}
    doc["target"] = "0.92"
    out = json.loads(run(json.dumps(doc), tmp_path).stdout)
    assert out["awareness"]["target_met"] is True  # census: judged on the rate
    assert out["satisfaction"]["target_met"] is False  # nobody rated
    assert out["participation"] == {"numerator": 0, "denominator": 2, "rate": "0.0000", "target_met": False}


MALFORMED = [
    ("not json", "{", "not valid JSON"),
    ("not an object", "[]", "JSON object"),
    ("NaN", '{"households": ["a"], "satisfied_from": NaN}', "not valid JSON"),
    ("repeated field", '{"households": ["a"], "households": ["b"]}', "duplicate key 'households'"),
    ("unknown field", '{"households": ["a"], "houses": []}', "unknown field 'houses'"),
    ("no households field", "{}", "households: missing"),
    ("no households", '{"households": []}', "no households"),
    ("households not a list", '{"households": "a"}', "households: must be a list"),
    ("empty household", '{"households": [""]}', "households[0]"),
    ("numeric household", '{"households": [1]}', "households[0]"),
    ("duplicate household", '{"households": ["a", "b", "a"]}', "households[2]: duplicate household 'a'"),
    ("responses not a list", '{"households": ["a"], "responses": {}}', "responses: must be a list"),
    ("response not an object", '{"households": ["a"], "responses": ["a"]}', "responses[0]: must be an object"),
    ("response unknown field", '{"households": ["a"], "responses": [{"household": "a", "x": 1}]}', "unknown field"),
    ("response without household", '{"households": ["a"], "responses": [{"aware": true}]}', "responses[0].household"),
    (
        "response outside scope",
        '{"households": ["a"], "responses": [{"household": "z"}]}',
        "'z' is not a household in scope",
    ),
    (
        "two responses",
        '{"households": ["a"], "responses": [{"household": "a"}, {"household": "a"}]}',
        "responses[1].household: two responses for household 'a'",
    ),
    ("aware string", '{"households": ["a"], "responses": [{"household": "a", "aware": "yes"}]}', "aware"),
    ("aware number", '{"households": ["a"], "responses": [{"household": "a", "aware": 1}]}', "responses[0].aware"),
    (
        "rating true",
        '{"households": ["a"], "responses": [{"household": "a", "satisfaction": true}]}',
        "responses[0].satisfaction: must be an integer",
    ),
    (
        "rating false",
        '{"households": ["a"], "responses": [{"household": "a", "satisfaction": false}]}',
        "satisfaction: must be an integer",
    ),
    (
        "rating float",
        '{"households": ["a"], "responses": [{"household": "a", "satisfaction": 4.0}]}',
        "satisfaction: must be an integer",
    ),
    (
        "rating string",
        '{"households": ["a"], "responses": [{"household": "a", "satisfaction": "4"}]}',
        "satisfaction: must be an integer",
    ),
    ("rating 0", '{"households": ["a"], "responses": [{"household": "a", "satisfaction": 0}]}', "outside 1–5"),
    ("rating 6", '{"households": ["a"], "responses": [{"household": "a", "satisfaction": 6}]}', "outside 1–5"),
    ("participants not a list", '{"households": ["a"], "participants": "a"}', "participants: must be a list"),
    ("participant number", '{"households": ["a"], "participants": [7]}', "participants[0]"),
    ("participant outside", '{"households": ["a"], "participants": ["a", "q"]}', "participants[1]: 'q' is not"),
    ("satisfied_from 0", '{"households": ["a"], "satisfied_from": 0}', "satisfied_from"),
    ("satisfied_from 6", '{"households": ["a"], "satisfied_from": 6}', "satisfied_from"),
    ("satisfied_from bool", '{"households": ["a"], "satisfied_from": true}', "satisfied_from"),
    ("satisfied_from string", '{"households": ["a"], "satisfied_from": "4"}', "satisfied_from"),
    ("target number", '{"households": ["a"], "target": 0.92}', "target: must be a decimal string"),
    ("target word", '{"households": ["a"], "target": "high"}', "target: must be a decimal string"),
    ("target exponent", '{"households": ["a"], "target": "9e-1"}', "target: must be a decimal string"),
    ("target negative", '{"households": ["a"], "target": "-0.1"}', "target: must be a decimal string"),
    ("target above 1", '{"households": ["a"], "target": "1.5"}', "not between 0 and 1"),
]


@pytest.mark.parametrize("name,payload,message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_inputs_exit_2_naming_the_problem(name, payload, message):
    with pytest.raises(rates.RatesInputError) as exc:
        rates.load(payload)
    assert message in str(exc.value)


def test_command_exits_2_on_every_malformed_input(tmp_path):
    for name, payload, message in MALFORMED:
        f = tmp_path / "bad.json"
        f.write_text(payload, encoding="utf-8")
        p = subprocess.run(
            [sys.executable, "-m", "gongzhi.surveys.rates", str(f)], capture_output=True, text=True, cwd=ROOT
        )
        assert p.returncode == 2, name
        assert p.stdout == "", name
        assert message in p.stderr, (name, p.stderr)


def test_command_missing_file_and_usage(tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "gongzhi.surveys.rates", str(tmp_path / "nope.json")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert p.returncode == 2 and "cannot read" in p.stderr
    p = subprocess.run([sys.executable, "-m", "gongzhi.surveys.rates"], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2 and "usage" in p.stderr


def test_rates_module_runs_without_django():
    code = "import sys, gongzhi.surveys.rates; sys.exit(1 if 'django' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
