"""English is complete: every msgid of the .po is translated (not fuzzy), placeholders survive, and the
committed .mo matches the .po (so the platform needs no gettext tools at run time).

When this fails after adding strings: run
    .venv/bin/python manage.py makemessages -l en --ignore=.venv --ignore=bench --ignore=var
translate the new entries in gongzhi/locale/en/LC_MESSAGES/django.po, then
    msgfmt --check -o gongzhi/locale/en/LC_MESSAGES/django.mo gongzhi/locale/en/LC_MESSAGES/django.po
"""

from __future__ import annotations

import gettext
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

LC = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")
CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)


def parse_po(path: Path) -> list[Entry]:
    """A small reader for the .po files makemessages writes (enough for these checks)."""
    entries: list[Entry] = []
    current: Entry | None = None
    key = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line:
            current, key = None, None
            continue
        if current is None:
            current = Entry(line=number)
            entries.append(current)
        if line.startswith("#~"):
            current.obsolete = True
            continue
        if line.startswith("#,"):
            current.flags |= {f.strip() for f in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$', line)
        if match:
            key = (match.group(1).split("[")[0], int(match.group(2) or 0))
            text = json.loads(match.group(3))
        else:
            text = json.loads(line)
        name, index = key
        if name == "msgstr":
            current.msgstr[index] = current.msgstr.get(index, "") + text
        elif name == "msgid":
            current.msgid += text
        elif name == "msgid_plural":
            current.msgid_plural = (current.msgid_plural or "") + text
        else:
            current.msgctxt = (current.msgctxt or "") + text
    return [e for e in entries if not e.obsolete and (e.msgid or e.msgstr)]


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    assert (LC / "django.po").exists(), f"{LC / 'django.po'} is missing"
    return [e for e in parse_po(LC / "django.po") if e.msgid]  # the header has an empty msgid


def describe(e: Entry) -> str:
    return f"django.po:{e.line} {e.msgid!r}"


def test_the_catalogue_is_not_empty(entries):
    assert len(entries) > 100


def test_every_msgid_is_translated_and_none_is_fuzzy(entries):
    problems = []
    for e in entries:
        forms = [e.msgstr.get(0, "")] + ([e.msgstr.get(1, "")] if e.msgid_plural is not None else [])
        if "fuzzy" in e.flags:
            problems.append(f"fuzzy: {describe(e)}")
        elif not all(f.strip() for f in forms):
            problems.append(f"untranslated: {describe(e)}")
    assert problems == [], "\n".join(problems)


def test_chinese_msgids_get_english_text(entries):
    same = [describe(e) for e in entries if CJK.search(e.msgid) and e.msgstr.get(0) == e.msgid]
    assert same == []


def test_placeholders_survive_translation(entries):
    problems = []
    for e in entries:
        wanted = set(PLACEHOLDER.findall(e.msgid_plural or e.msgid))
        last = e.msgstr.get(1 if e.msgid_plural is not None else 0, "")
        if e.msgstr.get(0) and set(PLACEHOLDER.findall(last)) != wanted:
            problems.append(f"{describe(e)} → {last!r}")
    assert problems == [], "\n".join(problems)


def test_the_committed_mo_matches_the_po(entries):
    with open(LC / "django.mo", "rb") as fh:
        mo = gettext.GNUTranslations(fh)
    stale = []
    for e in entries:
        if e.msgctxt is not None:
            got = mo.pgettext(e.msgctxt, e.msgid)
        elif e.msgid_plural is not None:
            got = mo.ngettext(e.msgid, e.msgid_plural, 2)
            if got != e.msgstr.get(1):
                stale.append(describe(e))
            continue
        else:
            got = mo.gettext(e.msgid)
        if got != e.msgstr.get(0):
            stale.append(describe(e))
    assert stale == [], "django.mo is out of date with django.po (run msgfmt):\n" + "\n".join(stale)


def test_django_uses_the_english_catalogue():
    with translation.override("en"):
        assert translation.gettext("登录") == "Sign in"
        assert translation.gettext("区域与房屋") == "Areas and housing"
    with translation.override("zh-hans"):
        assert translation.gettext("登录") == "登录"


@pytest.mark.django_db
def test_the_sign_in_page_in_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get(reverse("core:login")).content.decode()
    assert '<html lang="en">' in body
    assert "Sign in" in body and "Service hotline" in body
    assert "登录" not in body.replace('lang="zh-CN">简体中文', "")
