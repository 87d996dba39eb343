"""The renovation part's own English catalogue is complete and its compiled .mo matches (as core checks for the
main catalogue)."""

from __future__ import annotations

import gettext
from pathlib import Path

from gongzhi.core.tests.test_translations import CJK, PLACEHOLDER, parse_po

LC = Path(__file__).resolve().parents[1] / "locale" / "en" / "LC_MESSAGES"


def entries():
    return [e for e in parse_po(LC / "django.po") if e.msgid and not e.obsolete]


def test_every_msgid_is_translated_in_english_with_its_placeholders():
    problems = []
    for e in entries():
        text = e.msgstr.get(0, "")
        if not text or "fuzzy" in e.flags or (CJK.search(e.msgid) and text == e.msgid):
            problems.append(e.msgid)
        elif sorted(PLACEHOLDER.findall(e.msgid)) != sorted(PLACEHOLDER.findall(text)):
            problems.append(f"placeholders: {e.msgid}")
    assert problems == []


def test_the_compiled_mo_matches_the_po():
    with open(LC / "django.mo", "rb") as fh:
        catalogue = gettext.GNUTranslations(fh)
    stale = [e.msgid for e in entries() if catalogue.gettext(e.msgid) != e.msgstr.get(0)]
    assert stale == []
