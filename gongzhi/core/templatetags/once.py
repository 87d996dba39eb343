"""{% once_field %} — the hidden idempotency key a form that creates something carries (see core.once)."""

from django import template
from django.utils.html import format_html

from gongzhi.core.once import FIELD, new_key

register = template.Library()


@register.simple_tag
def once_field() -> str:
    """A fresh key on every render: a retry of the same submission repeats it; a corrected form sends a new one."""
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, new_key())
