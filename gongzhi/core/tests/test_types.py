"""The type checker over all of core, the pure rule modules, every action module and every selectors module
(pyproject.toml [tool.mypy]); and the one shape every action's signature has."""

import ast
import tomllib
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[3]


def test_mypy_finds_nothing(monkeypatch):
    monkeypatch.chdir(ROOT)
    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), "--no-incremental"])
    assert status == 0, out + err


def test_every_action_and_selectors_module_is_checked():
    """The [tool.mypy] patterns reach every module they are meant to (a part named with a c included)."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"]
    checked = {p for pattern in patterns for p in ROOT.glob(pattern)}
    wanted = {*action_modules(), *ROOT.glob("gongzhi/*/selectors.py"), *ROOT.glob("gongzhi/core/*.py")}
    assert sorted(str(p.relative_to(ROOT)) for p in wanted - checked) == []


def action_modules() -> list[Path]:
    found = [*ROOT.glob("gongzhi/*/actions.py"), *ROOT.glob("gongzhi/*/actions/*.py")]
    assert len(found) > 10, found  # the pattern still finds the action modules
    return sorted(found)


def test_every_action_takes_the_actor_as_a_user():
    """`actor: User` (a person must act) or `actor: User | None` (None: the system), nothing else."""
    wrong = []
    for path in action_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
                if arg.arg == "actor":
                    shown = ast.unparse(arg.annotation) if arg.annotation else "(none)"
                    if shown not in ("User", "User | None"):
                        wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}(actor: {shown})")
    assert not wrong, "\n".join(wrong)
