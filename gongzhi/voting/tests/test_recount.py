"""Tests for ``python -m gongzhi.voting.recount FILE``.

The contract is checked end to end through a subprocess (exit status, stdout,
stderr); the fuzz/property tests call :func:`gongzhi.voting.recount.main`
in-process for speed.  No Django, no database.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gongzhi.voting.recount import main
from gongzhi.voting.tally import SPECIAL_MAJORITY, Matter

REPO_ROOT = Path(__file__).resolve().parents[3]

REQUIRED_KEYS = {
    "quorum_met": bool,
    "passed": bool,
    "rule": str,
    "total_area": str,
    "participating_area": str,
    "agreeing_area": str,
    "total_owners": int,
    "participating_owners": int,
    "agreeing_owners": int,
}


def run_cli(*args: str | Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONSAFEPATH", "DJANGO_SETTINGS_MODULE")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "gongzhi.voting.recount", *map(str, args)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def write(tmp_path: Path, content: Any, name: str = "vote.json") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    return path


def owner(oid: str, choice: str | None, *units: tuple[str, str], developer: bool | None = None) -> dict:
    entry: dict[str, Any] = {"id": oid, "choice": choice, "units": [{"id": u, "area": a} for u, a in units]}
    if developer is not None:
        entry["developer"] = developer
    return entry


def ok(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and result.stdout.endswith("\n")
    data = json.loads(lines[0])
    for key, typ in REQUIRED_KEYS.items():
        assert key in data, key
        assert type(data[key]) is typ, (key, data[key])
    return data


# ------------------------------------------------------------------ good files


def test_basic_file(tmp_path):
    # 3 heads: o1 (89.50 + 10.5 = 100.00, yes), o2 (50, no), developer (150, null).
    # Total 300.00; participating 150.00 = 1/2 < 2/3 -> no quorum, not passed.
    doc = {
        "matter": "covenant",
        "owners": [
            owner("o1", "yes", ("u1", "89.50"), ("u2", "10.5"), developer=False),
            owner("o2", "no", ("u3", "50")),
            owner("dev", None, ("u4", "100"), ("u5", "50"), developer=True),
        ],
    }
    data = ok(run_cli(write(tmp_path, doc)))
    assert {k: data[k] for k in REQUIRED_KEYS} == {
        "quorum_met": False,
        "passed": False,
        "rule": "art278_double_majority",
        "total_area": "300.00",
        "participating_area": "150.00",
        "agreeing_area": "100.00",
        "total_owners": 3,
        "participating_owners": 2,
        "agreeing_owners": 1,
    }
    assert data["participating_area_ratio"] == "1/2"
    assert data["participating_owners_ratio"] == "2/3"
    assert data["agreeing_area_ratio"] == "2/3"
    assert data["agreeing_owners_ratio"] == "1/2"


def test_sum_keeps_exact_value(tmp_path):
    doc = {"matter": "committee", "owners": [owner("o1", "yes", ("u1", "89.50"), ("u2", "10.5"))]}
    data = ok(run_cli(write(tmp_path, doc)))
    assert data["total_area"] == "100.00"
    assert data["agreeing_area"] == "100.00"
    assert data["passed"] is True


def test_plain_notation_for_big_and_zero_values(tmp_path):
    # Large integers and long fractions stay in plain notation; nobody voting
    # gives a participating area of "0".
    doc = {
        "matter": "covenant",
        "owners": [
            owner("o1", None, ("u1", "100000000000000000000000000000000")),
            owner("o2", None, ("u2", "0.0000000000000000000000000000001")),
        ],
    }
    data = ok(run_cli(write(tmp_path, doc)))
    assert data["total_area"] == "100000000000000000000000000000000.0000000000000000000000000000001"
    assert data["participating_area"] == "0"
    assert data["agreeing_area"] == "0"
    assert "E" not in data["total_area"] and "e" not in data["total_area"]
    assert data["agreeing_area_ratio"] is None
    assert data["quorum_met"] is False and data["passed"] is False


def test_area_compared_by_value(tmp_path):
    # "89.5" and "89.50" are the same area: 2 yes vs 1 no, each 89.5 -> passes.
    doc = {
        "matter": "use_fund",
        "owners": [
            owner("a", "yes", ("u1", "89.5")),
            owner("b", "yes", ("u2", "89.50")),
            owner("c", "no", ("u3", "089.500")),
        ],
    }
    data = ok(run_cli(write(tmp_path, doc)))
    assert data["passed"] is True
    assert data["agreeing_area_ratio"] == "2/3"
    assert data["total_area"] == "268.500"


def test_exactly_two_thirds_quorum_and_three_quarters(tmp_path):
    # 12 owners × 10 m²; 8 take part (2/3 area, 2/3 heads); 6 yes, 2 no = 3/4.
    owners = [owner(f"o{i}", "yes" if i < 6 else "no" if i < 8 else None, (f"u{i}", "10")) for i in range(12)]
    for matter, passed in (("raise_fund", True), ("change_use", True), ("covenant", True)):
        data = ok(run_cli(write(tmp_path, {"matter": matter, "owners": owners})))
        assert data["quorum_met"] is True and data["passed"] is passed
    # One yes less (5 yes, 3 no): 5/8 < 3/4 fails for raise_fund, passes covenant.
    owners[5]["choice"] = "no"
    data = ok(run_cli(write(tmp_path, {"matter": "raise_fund", "owners": owners})))
    assert data["rule"] == "art278_three_quarters" and data["passed"] is False
    data = ok(run_cli(write(tmp_path, {"matter": "covenant", "owners": owners})))
    assert data["passed"] is True
    # One participant less: 7/12 < 2/3 -> no quorum.
    owners[7]["choice"] = None
    data = ok(run_cli(write(tmp_path, {"matter": "covenant", "owners": owners})))
    assert data["quorum_met"] is False and data["passed"] is False


def test_exactly_half_fails(tmp_path):
    owners = [owner(f"o{i}", "yes" if i < 3 else "no", (f"u{i}", "10")) for i in range(6)]
    data = ok(run_cli(write(tmp_path, {"matter": "other_major", "owners": owners})))
    assert data["quorum_met"] is True and data["passed"] is False


def test_abstain_takes_part(tmp_path):
    doc = {"matter": "covenant", "owners": [owner("a", "abstain", ("u1", "1")), owner("b", "yes", ("u2", "1"))]}
    data = ok(run_cli(write(tmp_path, doc)))
    assert data["participating_owners"] == 2 and data["agreeing_owners"] == 1
    assert data["passed"] is False  # 1/2 is not more than half


@pytest.mark.parametrize("matter", [m.value for m in Matter])
def test_rule_per_matter(tmp_path, matter):
    doc = {"matter": matter, "owners": [owner("a", "yes", ("u1", "1"))]}
    data = ok(run_cli(write(tmp_path, doc)))
    expected = "art278_three_quarters" if Matter(matter) in SPECIAL_MAJORITY else "art278_double_majority"
    assert data["rule"] == expected and data["passed"] is True


def test_developer_missing_defaults_to_false_and_extra_keys_ignored(tmp_path):
    doc = {
        "matter": "covenant",
        "comment": "ignored",
        "owners": [
            {"id": "a", "choice": "yes", "name": "张三", "units": [{"id": "u1", "area": "1", "floor": 3}]},
            {"id": "b", "choice": "yes", "units": [{"id": "u2", "area": "1"}]},
        ],
    }
    assert ok(run_cli(write(tmp_path, doc)))["total_owners"] == 2


def test_utf8_bom_and_unicode_ids(tmp_path):
    doc = {"matter": "covenant", "owners": [owner("业主一", "yes", ("1号楼101", "88.8"))]}
    path = write(tmp_path, b"\xef\xbb\xbf" + json.dumps(doc, ensure_ascii=False).encode("utf-8"))
    assert ok(run_cli(path))["passed"] is True


def test_works_without_django_settings(tmp_path):
    doc = {"matter": "covenant", "owners": [owner("a", "yes", ("u1", "1"))]}
    result = run_cli(write(tmp_path, doc), env_extra={"DJANGO_SETTINGS_MODULE": "no.such.settings"})
    assert ok(result)["passed"] is True


# ------------------------------------------------------------- malformed input

GOOD_OWNER = {"id": "o1", "developer": False, "choice": "yes", "units": [{"id": "u1", "area": "10"}]}


def doc_with(**owner_changes: Any) -> dict[str, Any]:
    """A valid document whose only owner is GOOD_OWNER updated/deleted (value ...)."""
    entry = dict(GOOD_OWNER)
    for key, value in owner_changes.items():
        if value is ...:
            del entry[key]
        else:
            entry[key] = value
    return {"matter": "covenant", "owners": [entry]}


def unit_doc(unit: Any) -> dict[str, Any]:
    return doc_with(units=[unit])


def second_owner(**fields: Any) -> dict[str, Any]:
    doc = doc_with()
    doc["owners"].append({"id": "o2", "choice": None, "units": [{"id": "u2", "area": "5"}], **fields})
    return doc


MALFORMED: dict[str, Any] = {
    # file level
    "invalid json": '{"matter": "covenant", "owners": [',
    "empty file": "",
    "not utf-8": b'{"matter": "covenant\xff"}',
    "trailing garbage": json.dumps(doc_with()) + " x",
    "NaN literal": '{"matter": "covenant", "owners": [], "x": NaN}',
    "duplicate key": '{"matter": "covenant", "matter": "raise_fund", "owners": []}',
    "deep nesting": "[" * 100000 + "]" * 100000,
    "top level array": [doc_with()],
    "top level string": '"covenant"',
    "top level number": "1e999",
    "top level null": None,
    # matter
    "missing matter": {"owners": [GOOD_OWNER]},
    "unknown matter": {"matter": "elect_mayor", "owners": [GOOD_OWNER]},
    "matter wrong case": {"matter": "COVENANT", "owners": [GOOD_OWNER]},
    "matter not string": {"matter": 2, "owners": [GOOD_OWNER]},
    "matter null": {"matter": None, "owners": [GOOD_OWNER]},
    # owners
    "missing owners": {"matter": "covenant"},
    "empty owners": {"matter": "covenant", "owners": []},
    "owners not list": {"matter": "covenant", "owners": {"o1": GOOD_OWNER}},
    "owner not object": {"matter": "covenant", "owners": ["o1"]},
    "owner null": {"matter": "covenant", "owners": [GOOD_OWNER, None]},
    "missing id": doc_with(id=...),
    "id not string": doc_with(id=1),
    "id empty": doc_with(id=""),
    "id null": doc_with(id=None),
    "duplicate owner ids": second_owner(id="o1"),
    "developer string": doc_with(developer="false"),
    "developer int": doc_with(developer=0),
    "developer null": doc_with(developer=None),
    "two developers": {
        "matter": "covenant",
        "owners": [
            {**GOOD_OWNER, "developer": True},
            {"id": "d2", "developer": True, "choice": None, "units": [{"id": "u9", "area": "1"}]},
        ],
    },
    "missing choice": doc_with(choice=...),
    "unknown choice": doc_with(choice="maybe"),
    "choice upper case": doc_with(choice="YES"),
    "choice bool": doc_with(choice=True),
    "choice number": doc_with(choice=1),
    "missing units": doc_with(units=...),
    "empty units": doc_with(units=[]),
    "units not list": doc_with(units={"id": "u1", "area": "10"}),
    "units null": doc_with(units=None),
    # units
    "unit not object": unit_doc("u1"),
    "unit null": unit_doc(None),
    "missing unit id": unit_doc({"area": "10"}),
    "unit id not string": unit_doc({"id": 17, "area": "10"}),
    "unit id empty": unit_doc({"id": "", "area": "10"}),
    "unit listed twice in owner": doc_with(units=[{"id": "u1", "area": "1"}, {"id": "u1", "area": "1"}]),
    "unit listed twice across owners": second_owner(units=[{"id": "u1", "area": "5"}]),
    "missing area": unit_doc({"id": "u1"}),
    "area null": unit_doc({"id": "u1", "area": None}),
    "area number": unit_doc({"id": "u1", "area": 10}),
    "area float": unit_doc({"id": "u1", "area": 10.5}),
    "area bool": unit_doc({"id": "u1", "area": True}),
    "area list": unit_doc({"id": "u1", "area": ["10"]}),
    "area abc": unit_doc({"id": "u1", "area": "abc"}),
    "area negative": unit_doc({"id": "u1", "area": "-1"}),
    "area exponent": unit_doc({"id": "u1", "area": "1e3"}),
    "area exponent upper": unit_doc({"id": "u1", "area": "1E3"}),
    "area leading space": unit_doc({"id": "u1", "area": " 1"}),
    "area trailing space": unit_doc({"id": "u1", "area": "1 "}),
    "area trailing newline": unit_doc({"id": "u1", "area": "1\n"}),
    "area empty": unit_doc({"id": "u1", "area": ""}),
    "area leading dot": unit_doc({"id": "u1", "area": ".5"}),
    "area trailing dot": unit_doc({"id": "u1", "area": "1."}),
    "area plus sign": unit_doc({"id": "u1", "area": "+1"}),
    "area nan string": unit_doc({"id": "u1", "area": "NaN"}),
    "area infinity string": unit_doc({"id": "u1", "area": "Infinity"}),
    "area comma": unit_doc({"id": "u1", "area": "1,5"}),
    "area underscore": unit_doc({"id": "u1", "area": "1_000"}),
    "area fullwidth digits": unit_doc({"id": "u1", "area": "１０"}),
    "area arabic-indic digits": unit_doc({"id": "u1", "area": "١٠"}),
    "NaN area literal": '{"matter": "covenant", "owners": [{"id": "o1", "choice": "yes", '
    '"units": [{"id": "u1", "area": NaN}]}]}',
    "Infinity area literal": '{"matter": "covenant", "owners": [{"id": "o1", "choice": "yes", '
    '"units": [{"id": "u1", "area": Infinity}]}]}',
    "total area zero": {
        "matter": "covenant",
        "owners": [
            {"id": "o1", "choice": "yes", "units": [{"id": "u1", "area": "0"}]},
            {"id": "o2", "choice": "no", "units": [{"id": "u2", "area": "0.00"}]},
        ],
    },
}


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_malformed(tmp_path, case):
    result = run_cli(write(tmp_path, MALFORMED[case]))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.strip()
    assert result.stderr.startswith("错误"), result.stderr
    assert "error:" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_area_message_names_owner_and_unit(tmp_path):
    doc = {
        "matter": "covenant",
        "owners": [
            {"id": "o1", "choice": "yes", "units": [{"id": "u1", "area": "1"}]},
            {"id": "o2", "choice": "yes", "units": [{"id": "u2", "area": "1"}]},
            {"id": "o3", "choice": "yes", "units": [{"id": "u4", "area": "1"}, {"id": "u5"}]},
        ],
    }
    result = run_cli(write(tmp_path, doc))
    assert result.returncode == 2 and result.stdout == ""
    assert "第 3 个业主（id=o3）" in result.stderr and "缺少面积" in result.stderr
    assert "error: owner #3 (id=o3) unit u5: missing area" in result.stderr
    assert result.stderr.index("错误") < result.stderr.index("error:")


def test_missing_file(tmp_path):
    result = run_cli(tmp_path / "nope.json")
    assert result.returncode == 2 and result.stdout == "" and "file not found" in result.stderr


def test_directory(tmp_path):
    result = run_cli(tmp_path)
    assert result.returncode == 2 and result.stdout == "" and result.stderr


def test_unreadable_file(tmp_path, monkeypatch):
    """A file the process may not read. Root reads anything, so the refusal is simulated in-process there."""
    import io

    from gongzhi.core import jsonfile
    from gongzhi.voting import recount

    path = write(tmp_path, doc_with())
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        path.chmod(0)
        result = run_cli(path)
        assert result.returncode == 2 and result.stdout == "" and result.stderr
        return

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(jsonfile, "open", refuse, raising=False)  # the file is read by the shared reader
    out, err = io.StringIO(), io.StringIO()
    assert recount.main([str(path)], stdout=out, stderr=err) == 2
    assert out.getvalue() == "" and "cannot read file" in err.getvalue()


@pytest.mark.parametrize("args", [(), ("a.json", "b.json")])
def test_wrong_arguments(args):
    result = run_cli(*args)
    assert result.returncode == 2 and result.stdout == "" and "usage" in result.stderr


# --------------------------------------------------------- in-process property tests


def run_main(content: Any) -> tuple[int, str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp), content)
        out, err = io.StringIO(), io.StringIO()
        code = main([str(path)], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


area_strings = st.builds(
    lambda whole, frac: whole if frac is None else f"{whole}.{frac}",
    st.from_regex(r"[0-9]{1,8}", fullmatch=True),
    st.none() | st.from_regex(r"[0-9]{1,4}", fullmatch=True),
)


@st.composite
def valid_documents(draw):
    n = draw(st.integers(1, 12))
    owners = []
    unit_counter = 0
    dev_index = draw(st.none() | st.integers(0, n - 1))
    for i in range(n):
        units = []
        for _ in range(draw(st.integers(1, 3))):
            units.append({"id": f"u{unit_counter}", "area": draw(area_strings)})
            unit_counter += 1
        entry: dict[str, Any] = {
            "id": f"o{i}",
            "choice": draw(st.sampled_from(["yes", "no", "abstain", None])),
            "units": units,
        }
        if i == dev_index or draw(st.booleans()):
            entry["developer"] = i == dev_index
        owners.append(entry)
    return {"matter": draw(st.sampled_from([m.value for m in Matter])), "owners": owners}


def reference(doc: dict[str, Any]) -> dict[str, Any]:
    """Independent recount with Fractions and integer cross-multiplication."""
    heads = [(sum(Fraction(u["area"]) for u in o["units"]), o["choice"]) for o in doc["owners"]]
    ta = sum(a for a, _ in heads)
    pa = sum(a for a, c in heads if c is not None)
    ya = sum(a for a, c in heads if c == "yes")
    tn, pn, yn = len(heads), sum(c is not None for _, c in heads), sum(c == "yes" for _, c in heads)
    quorum = 3 * pa >= 2 * ta and 3 * pn >= 2 * tn
    if Matter(doc["matter"]) in SPECIAL_MAJORITY:
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


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(doc=valid_documents())
def test_valid_documents_match_reference(doc):
    assume(any(Decimal(u["area"]) for o in doc["owners"] for u in o["units"]))
    code, out, err = run_main(doc)
    assert code == 0, err
    assert err == ""
    assert out.count("\n") == 1 and out.endswith("\n")
    data = json.loads(out)
    ref = reference(doc)
    for key in ("quorum_met", "passed", "total_owners", "participating_owners", "agreeing_owners"):
        assert data[key] == ref[key], key
    for key in ("total_area", "participating_area", "agreeing_area"):
        text = data[key]
        assert "e" not in text.lower()
        assert Fraction(text) == ref[key], key


json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=6) | st.floats(allow_nan=False)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)


@st.composite
def mutated_documents(draw):
    """Valid documents with one random value replaced by random JSON."""
    doc = draw(valid_documents())
    owner_entry = draw(st.sampled_from(doc["owners"]))
    target = draw(st.sampled_from(["doc", "owner", "unit"]))
    if target == "doc":
        container = doc
        key = draw(st.sampled_from(["matter", "owners"]))
    elif target == "owner":
        container = owner_entry
        key = draw(st.sampled_from(["id", "developer", "choice", "units"]))
    else:
        container = draw(st.sampled_from(owner_entry["units"]))
        key = draw(st.sampled_from(["id", "area"]))
    if draw(st.booleans()):
        container.pop(key, None)
    else:
        container[key] = draw(json_values)
    return doc


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(doc=mutated_documents())
def test_mutated_documents_exit_0_or_2_cleanly(doc):
    code, out, err = run_main(doc)
    assert code in (0, 2)
    if code == 0:
        assert err == "" and out.count("\n") == 1
        data = json.loads(out)
        assert set(REQUIRED_KEYS) <= set(data)
    else:
        assert out == "" and err.startswith("错误") and "error:" in err


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_random_bytes_never_crash(raw):
    code, out, err = run_main(raw)
    assert code == 2 and out == "" and err
