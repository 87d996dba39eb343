"""Chinese interface text left on an English page.

A page in English may still show Chinese *data* (a compound's name, a resident's notice) but never Chinese
*interface* text. The two are told apart by where the text comes from: the interface strings are the msgids of
every catalogue and the Chinese string literals of the code (the Chinese half of the bilingual error messages,
choice labels, headings built in views); the data is what the demo loaders write. A maximal run of Chinese on
an English page that equals an interface string's run, and no demo literal's run, is interface text that was
not translated.

Used by the crawl (gongzhi/browser_tests/test_crawl.py) on every English page it fetches, and by its own test.
"""

from __future__ import annotations

import ast
import functools
import re
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gongzhi"
# A run: Han characters with the CJK punctuation between them ("，" "：" "（" …).
RUN = re.compile(
    r"[\u4e00-\u9fff][\u4e00-\u9fff\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\u00b7]*[\u4e00-\u9fff]|[\u4e00-\u9fff]"
)
TRANSLATING = {
    "_",
    "gettext",
    "gettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "npgettext",
    "gettext_noop",
}
# Where the demo's (and the synthetic city's) data is written: its literals are data, not interface.
DATA_SOURCES = ("demo.py", "synthetic.py", "testing.py", "generate_city.py", "holidays.py")
# Chinese kept on English pages on purpose: the language switcher names Chinese in Chinese.
KEPT = {"简体中文", "中文"}


def _runs(text: str) -> set[str]:
    return {m.group(0) for m in RUN.finditer(text)}


def _literals(path: Path) -> tuple[set[str], set[str]]:
    """(runs of literals passed to gettext, runs of other Chinese literals) in one Python file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    translated: set[str] = set()
    plain: set[str] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str) and RUN.search(node.value)):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Expr):  # a docstring
            continue
        func = getattr(parent, "func", None) if isinstance(parent, ast.Call) else None
        name = getattr(func, "id", None) or getattr(func, "attr", None)
        (translated if name in TRANSLATING else plain).update(_runs(node.value))
    return translated, plain


def _msgids(po: Path) -> set[str]:
    runs: set[str] = set()
    current: list[str] = []
    in_msgid = False
    for line in po.read_text(encoding="utf-8").splitlines():
        if line.startswith(("msgid ", "msgid_plural ")):
            in_msgid = True
            current.append(line.split(" ", 1)[1])
        elif line.startswith('"') and in_msgid:
            current.append(line)
        else:
            in_msgid = False
    for quoted in current:
        runs |= _runs(quoted)
    return runs


@functools.cache
def interface_and_data() -> tuple[frozenset[str], frozenset[str]]:
    interface: set[str] = set()
    data: set[str] = set()
    for po in PACKAGE.rglob("locale/en/LC_MESSAGES/django.po"):
        interface |= _msgids(po)
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        if "migrations" in parts or "tests" in parts or "browser_tests" in parts:
            continue
        translated, plain = _literals(path)
        if path.name in DATA_SOURCES:
            data |= translated | plain
        else:
            interface |= translated | plain
    return frozenset(interface), frozenset(data | KEPT)


class _Text(HTMLParser):
    """The text a reader sees, and the alternative texts a screen reader reads; not scripts, styles, or parts
    marked as Chinese (lang="zh…")."""

    SKIP = {"script", "style", "template"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def _hidden(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        skip = tag in self.SKIP or (attrs.get("lang") or "").lower().startswith("zh")
        if not (skip or self._hidden()):
            for name in ("alt", "title", "aria-label", "placeholder"):
                if attrs.get(name):
                    self.parts.append(attrs[name])
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.parts.append(attrs["value"])
        if tag not in self.VOID:
            self.stack.append((tag, skip))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if not self._hidden():
            self.parts.append(data)


def untranslated(html: str) -> list[str]:
    """The interface strings left in Chinese on a page served in English, in page order, each once."""
    interface, data = interface_and_data()
    parser = _Text()
    parser.feed(html)
    found: list[str] = []
    for part in parser.parts:
        for match in RUN.finditer(part):
            run = match.group(0)
            if run in interface and run not in data and run not in found:
                found.append(run)
    return found
