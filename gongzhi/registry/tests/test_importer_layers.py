"""The roster importer's three layers: reading and parsing never touch the database; only `write` does."""

import ast
from pathlib import Path

import gongzhi.registry.importer as importer

PKG = Path(importer.__file__).parent


def imported(module: str) -> set[str]:
    tree = ast.parse((PKG / f"{module}.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_reading_and_parsing_import_nothing_that_writes():
    for module in ("read", "parse"):
        names = imported(module)
        assert not {n for n in names if n.startswith("django.db")}, module
        assert "gongzhi.registry.importer.write" not in names and "gongzhi.registry.actions" not in names, module


def test_the_package_keeps_its_public_names():
    for name in ("import_roster", "read_table", "parse_table", "sniff_format", "estimate_rows", "sample_rows"):
        assert callable(getattr(importer, name))
    assert importer.MAX_BYTES and importer.COLUMNS and importer.SUMMARY_KEYS
