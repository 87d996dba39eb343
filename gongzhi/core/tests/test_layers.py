"""Import contracts: the layers of docs/ARCHITECTURE.md, checked on the source (an AST walk, no import-linter).

    site                       the top floor: puts the parts together (demo, city generator); nobody imports it
    parts                      deliberation, voting, bulkywaste, renovation, surveys, servicedesk, notices
    register                   registry and organizations (one layer: organisations hang on the area tree)
    core                       users, roles, the gate, audit, personal data, uploads; imports no app

A layer imports only the layers below it. Among the parts: notices imports no other part (each part builds
and publishes its own notices with the notices app). No cycles between modules, counting the imports inside
functions too; an import inside a function names why in a comment (its line or the one above).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]  # the repository
PKG = ROOT / "gongzhi"
LAYER = {
    "core": 0,
    "registry": 1,
    "organizations": 1,
    "deliberation": 2,
    "voting": 2,
    "notices": 2,
    "bulkywaste": 2,
    "renovation": 2,
    "surveys": 2,
    "servicedesk": 2,
    "site": 3,
}
# Modules of the project package that are not an app (settings, URLconfs, the browser tests): the top floor.
TOP = {"settings", "test_settings", "urls", "api_urls", "wsgi", "browser_tests", "templates", "locale"}
KNOWN_CYCLES: list[list[str]] = []
# A comment that is only a linter directive says nothing about why.
DIRECTIVE = re.compile(r"noqa(:\s*[A-Z]+[0-9]+(,\s*[A-Z]+[0-9]+)*)?|type:\s*ignore(\[[a-z-, ]+\])?|pragma:[^#]*")


def modules() -> dict[str, Path]:
    found = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        if "migrations" in rel.parts or "tests" in rel.parts:
            continue
        name = ".".join(rel.parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path):
    """(target module, line, inside a function?, comment on the line or the line above?) for every import."""
    source = path.read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import | ast.ImportFrom):
                    in_function.add(id(sub))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                continue
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        previous = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
        commented = says_why(lines[node.lineno - 1]) or (previous.startswith("#") and says_why(previous))
        for target in targets:
            if target.startswith("gongzhi"):
                yield target, node.lineno, id(node) in in_function, commented


def says_why(line: str) -> bool:
    """The line carries a comment with words in it, beyond a linter directive (`# noqa: F401` alone is not)."""
    if "#" not in line:
        return False
    comment = DIRECTIVE.sub("", line.split("#", 1)[1].replace("#", " "))
    return any(ch.isalpha() for ch in comment)


def app_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer(module: str) -> int:
    app = app_of(module)
    return LAYER.get(app, 4 if app in TOP or app == "" else -1)


def test_every_app_has_a_layer():
    apps = {p.name for p in PKG.iterdir() if (p / "apps.py").exists()}
    assert apps <= set(LAYER), f"apps without a layer in this test and docs/ARCHITECTURE.md: {apps - set(LAYER)}"


def test_each_layer_imports_only_the_layers_below_it():
    wrong = []
    for name, path in modules().items():
        own, app = layer(name), app_of(name)
        for target, line, _in_fn, _c in imports(name, path):
            if app_of(target) == app:
                continue
            above = layer(target) > own
            notices_reaching_out = app == "notices" and layer(target) == 2  # each part publishes its own notices
            if above or notices_reaching_out:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({app}) imports {target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(set(wrong)))


def test_nothing_imports_the_site():
    wrong = [
        f"{path.relative_to(ROOT)}:{line}"
        for name, path in modules().items()
        if app_of(name) != "site"
        for target, line, _f, _c in imports(name, path)
        if app_of(target) == "site"
    ]
    assert not wrong, wrong


def test_no_cycles_between_modules():
    mods = modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        for target, _line, _f, _c in imports(name, path):
            if target in mods and target != name:
                graph[name].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in list(mods):
        if v not in index:
            visit(v)
    cycles = [c for c in cycles if c not in KNOWN_CYCLES]
    assert not cycles, f"import cycles: {cycles}"


def test_imports_inside_functions_say_why():
    """Every import of a project module inside a function has a comment on its line or the line above saying why
    it is not at the top (a real cycle, an optional dependency, start-up cost, app loading); else it moves up."""
    unexplained = sorted(
        {
            f"{path.relative_to(ROOT)}:{line}"
            for name, path in modules().items()
            for target, line, in_function, commented in imports(name, path)
            if in_function and not commented
        }
    )
    assert not unexplained, "imports inside functions without a comment saying why:\n" + "\n".join(unexplained)


def test_a_directive_alone_does_not_say_why():
    assert not says_why("    from gongzhi.x import y  # noqa: F401")
    assert not says_why("    from gongzhi.x import y")
    assert says_why("    from gongzhi.x import y  # noqa: F401 - registers the signal receivers")
    assert says_why("    # here, not at the top: the models are not loaded yet")
