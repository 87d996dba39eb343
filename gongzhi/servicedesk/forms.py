"""Service-desk forms: they check shape; the actions decide and name the field of any refusal."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.servicedesk.models import ServiceRequest

SATISFACTION = [(v, label) for v, label in ServiceRequest.Satisfaction.choices]


class RatingForm(forms.Form):
    satisfaction = forms.ChoiceField(
        label=_("您对这次办理满意吗？"),
        choices=SATISFACTION,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择满意程度")},
    )
    comment = forms.CharField(
        label=_("意见（可不填）"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
