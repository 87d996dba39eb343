"""Small helpers for the shared page includes (core/form_errors.html)."""

from __future__ import annotations

import re

from django import template
from django.utils.translation import get_language
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def error_line(label, error) -> str:
    """ "联系电话：请填写这一项" — the field named once: a message that already starts with its label keeps it as is."""
    label, error = str(label or "").strip().rstrip("？?：:"), one_language(error).strip()
    if not label or error.startswith(label):  # a label asked as a question loses its "？" before "："
        return error
    return _("%(label)s：%(error)s") % {"label": label, "error": error}


CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def one_language(text: str, language: str | None = None) -> str:
    """The half of a bilingual "中文 / English" message that the page's language asks for.

    Actions raise errors in both languages ("表决已截止 / the vote has closed") so that the API can return both;
    a page shows one. Text that is not such a pair is returned as it is.
    """
    text = str(text)
    start = 0
    while (cut := text.find(" / ", start)) != -1:
        zh, en = text[:cut], text[cut + 3 :]
        if CJK.search(zh) and en and not CJK.search(en):
            return en if (language or get_language() or "").startswith("en") else zh
        start = cut + 3
    return text


@register.filter(name="one_language")
def one_language_filter(text) -> str:
    return one_language(text)


@register.filter
def in_language(obj, name: str = "label") -> str:
    """`obj.<name>_en` on English pages, else `obj.<name>_zh`: data kept in both languages (Art. 278 matters,
    vote rules, condition labels), chosen at display time. {{ matter|in_language:"label" }}; with "" the
    attributes `en` / `zh` themselves ({{ problem|in_language:"" }})."""
    english = (get_language() or "").startswith("en")
    key = ("en" if english else "zh") if not name else (f"{name}_en" if english else f"{name}_zh")
    if isinstance(obj, dict):
        return obj.get(key, "")
    return getattr(obj, key, "")


@register.filter
def anchor(field) -> str:
    """The id an error summary links to: the field's input, or its first option for a group of radios or
    checkboxes (which have no single input to label; GOV.UK links to the first)."""
    if field.id_for_label:
        return field.id_for_label
    return f"{field.auto_id}_0" if field.auto_id else ""


@register.filter
def is_group(field) -> bool:
    """Radios or checkboxes: a group asked with a fieldset and legend, not one input with a label."""
    return (
        getattr(field.field.widget, "allow_multiple_selected", False)
        or getattr(field.field.widget, "input_type", "") in ("radio", "checkbox")
        and not field.id_for_label
    )
