"""The type checker over the gate, core's pure helpers and the pure rule modules (pyproject.toml [tool.mypy])."""

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[3]


def test_mypy_finds_nothing(monkeypatch):
    monkeypatch.chdir(ROOT)
    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), "--no-incremental"])
    assert status == 0, out + err
