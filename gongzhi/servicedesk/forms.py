"""Service-desk forms: they check shape; the actions decide and name the field of any refusal."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.core.maps import PointFields
from gongzhi.servicedesk.models import FollowUpCall, Question, ServiceRequest

SATISFACTION = list(ServiceRequest.Satisfaction.choices)


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


class CategoryForm(forms.Form):
    category = forms.ChoiceField(
        label=_("问题类别"), widget=forms.RadioSelect, error_messages={"required": _("请选择问题类别")}
    )

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [(str(c.pk), c.label) for c in categories]


class PlaceForm(PointFields):
    """The compound from the registry, a few words on where in it, and (optional) a point on the map or the
    phone's location — never typed coordinates."""

    node = forms.ChoiceField(label=_("楼院"), widget=forms.RadioSelect, error_messages={"required": _("请选择楼院")})
    where = forms.CharField(
        label=_("具体位置（可不填）"),
        help_text=_("例如：3号楼2单元楼道、东门口"),
        max_length=100,
        required=False,
    )

    field_order = ["node", "where", "latitude", "longitude", "source"]

    def __init__(self, *args, compounds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["node"].choices = [
            (str(c.pk), f"{c.name}（{c.address}）" if c.address else c.name) for c in compounds
        ]


def question_form(q: Question, data=None, initial=None) -> forms.Form:
    """A one-question form for a category's question (its datatype decides the widget)."""
    required = q.required
    msg = {"required": _("请回答这个问题")}
    choices = [(str(v.get("key")), v.get("name")) for v in q.values]
    if q.datatype == Question.Datatype.SINGLE:
        field = forms.ChoiceField(label=q.label, choices=choices, widget=forms.RadioSelect, required=required,
                                  error_messages=msg)  # fmt: skip
    elif q.datatype == Question.Datatype.MULTI:
        field = forms.MultipleChoiceField(label=q.label, choices=choices, widget=forms.CheckboxSelectMultiple,
                                          required=required, error_messages=msg)  # fmt: skip
    elif q.datatype == Question.Datatype.NUMBER:
        field = forms.DecimalField(label=q.label, required=required, error_messages={**msg, "invalid": _("请填数字")})
    elif q.datatype == Question.Datatype.TEXT:
        field = forms.CharField(label=q.label, required=required, max_length=1000, widget=forms.Textarea(attrs={"rows": 4}),
                                error_messages=msg)  # fmt: skip
    else:
        field = forms.CharField(label=q.label, required=required, max_length=200, error_messages=msg)
    field.help_text = q.description

    class OneQuestion(forms.Form):
        answer = field

        def clean_answer(self):
            value = self.cleaned_data["answer"]
            return str(value) if value is not None and not isinstance(value, list | str) else value

    return OneQuestion(data, initial=initial)


class DescriptionForm(forms.Form):
    description = forms.CharField(
        label=_("具体情况"),
        help_text=_("说清楚看到了什么、从什么时候开始。请不要写身份证号等个人信息。"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("请说说具体情况")},
    )


class PhotoForm(forms.Form):
    photo = forms.FileField(
        label=_("照片"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )


CHANNELS = [(ServiceRequest.Channel.HOTLINE.value, _("热线来电")), (ServiceRequest.Channel.DOOR.value, _("上门走访"))]


class HotlineForm(forms.Form):
    requester_phone = forms.CharField(
        label=_("来电号码"), max_length=20, error_messages={"required": _("请填写来电号码")}
    )
    requester_name = forms.CharField(label=_("来电人称呼"), max_length=100, required=False)
    channel = forms.ChoiceField(label=_("渠道"), choices=CHANNELS, initial="hotline")
    category = forms.ChoiceField(label=_("问题类别"), error_messages={"required": _("请选择问题类别")})
    node = forms.ChoiceField(label=_("楼院"), error_messages={"required": _("请选择楼院")})
    description = forms.CharField(
        label=_("诉求内容"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("请记录诉求内容")},
    )  # fmt: skip

    def __init__(self, *args, categories=(), compounds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "—")] + [
            (str(c.pk), f"{c.label}（{c.limit_text}）") for c in categories
        ]
        self.fields["node"].choices = [("", "—")] + [(str(c.pk), c.name) for c in compounds]
        if self.data.get("node") and not any(str(c.pk) == self.data.get("node") for c in compounds):
            self.fields["node"].choices.append((self.data["node"], self.data["node"]))


class DispatchForm(forms.Form):
    org = forms.ChoiceField(label=_("派给"), required=False)
    note = forms.CharField(label=_("派单说明"), max_length=300, required=False)

    def __init__(self, *args, orgs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].choices = [("", _("社区党员、志愿者抢单"))] + [
            (str(o.pk), f"{o.name}（{o.kind.name}）") for o in orgs
        ]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("理由 / 说明"), max_length=500, required=False)


class FollowUpForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("回访结果"), choices=FollowUpCall.Outcome.choices, widget=forms.RadioSelect,
        error_messages={"required": _("请选择回访结果")},
    )  # fmt: skip
    solved = forms.ChoiceField(
        label=_("问题是否已解决"), choices=[("", _("（未接通不填）")), ("yes", _("已解决")), ("no", _("未解决"))],
        required=False,
    )  # fmt: skip
    satisfaction = forms.ChoiceField(
        label=_("满意程度"), choices=[("", _("（未评价）"))] + SATISFACTION, required=False
    )
    note = forms.CharField(
        label=_("回访记录"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class RatingsFilterForm(forms.Form):
    """服务评价's filters, from the query string: an area, a category, a month (by default) or a date range."""

    node = forms.IntegerField(label=_("区域"), required=False, min_value=1, error_messages={"invalid": _("请选择区域")})
    category = forms.IntegerField(
        label=_("类别"), required=False, min_value=1, error_messages={"invalid": _("请选择类别")}
    )
    month = forms.RegexField(
        label=_("月份"),
        regex=r"^20[0-9]{2}-(0[1-9]|1[0-2])$",
        required=False,
        error_messages={"invalid": _("月份应写成“2026-03”的样子")},
    )
    since = forms.DateField(
        label=_("起始日期"), required=False, error_messages={"invalid": _("日期应写成“2026-03-01”")}
    )
    until = forms.DateField(
        label=_("截止日期"), required=False, error_messages={"invalid": _("日期应写成“2026-03-31”")}
    )

    EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)  # beyond them a day's bounds can overflow

    def _in_range(self, name: str) -> date | None:
        value = self.cleaned_data.get(name)
        if value is not None and not self.EARLIEST <= value <= self.LATEST:
            raise forms.ValidationError(_("日期应在2000年至2099年之间"))
        return value

    def clean_since(self) -> date | None:
        return self._in_range("since")

    def clean_until(self) -> date | None:
        return self._in_range("until")

    def clean(self):
        d = super().clean()
        since, until = d.get("since"), d.get("until")
        if (since is None) != (until is None) and not self.has_error("since") and not self.has_error("until"):
            self.add_error("until" if until is None else "since", _("起始日期和截止日期要一起填"))
        elif since and until and until < since:
            self.add_error("until", _("截止日期早于起始日期"))
        elif since and until and (until - since).days > 366:
            self.add_error("until", _("时段最长一年"))
        return d
