"""The surveys part's own English catalogue is complete, keeps its placeholders and is compiled."""

import gettext
from pathlib import Path

from django.utils import translation

from gongzhi.core.tests.test_translations import CJK, PLACEHOLDER, parse_po

LC = Path(__file__).resolve().parents[1] / "locale" / "en" / "LC_MESSAGES"


def test_every_entry_is_translated_with_its_placeholders_and_compiled():
    entries = [e for e in parse_po(LC / "django.po") if e.msgid]
    assert len(entries) > 200
    with open(LC / "django.mo", "rb") as fh:
        mo = gettext.GNUTranslations(fh)
    problems = []
    for e in entries:
        text = e.msgstr.get(0, "")
        if "fuzzy" in e.flags or not text.strip() or CJK.search(text):
            problems.append(f"untranslated: {e.msgid}")
        elif set(PLACEHOLDER.findall(e.msgid)) != set(PLACEHOLDER.findall(text)):
            problems.append(f"placeholders: {e.msgid}")
        elif (mo.pgettext(e.msgctxt, e.msgid) if e.msgctxt else mo.gettext(e.msgid)) != text:
            problems.append(f"stale .mo: {e.msgid}")
    assert problems == []


def test_django_finds_the_catalogue():
    with translation.override("en"):
        assert translation.gettext("满意率") == "Satisfaction"
        assert translation.gettext("问卷调查") == "Surveys"
