from __future__ import annotations

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from gongzhi.voting.models import MATTER_CHOICES, Ballot, Vote
from gongzhi.voting.tally import Matter

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class CallVoteForm(forms.Form):
    subject = forms.CharField(label=_("表决事项"), max_length=200)
    kind = forms.ChoiceField(label=_("表决类型"), choices=Vote.Kind.choices, initial=Vote.Kind.OWNER)
    matter = forms.ChoiceField(
        label=_("《民法典》第二百七十八条事项"),
        choices=[("", "—")] + MATTER_CHOICES,
        required=False,
        help_text=_("业主共同决定事项必选；第（六）至（八）项须四分之三以上同意"),
    )
    unit_set = forms.ModelChoiceField(label=_("参加表决的房屋范围"), queryset=None, empty_label=None)
    opens_at = forms.DateTimeField(
        label=_("开始投票"), widget=DATETIME, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
    )
    closes_at = forms.DateTimeField(
        label=_("截止投票"), widget=DATETIME, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
    )
    notice_days = forms.IntegerField(
        label=_("公告期（日）"),
        min_value=1,
        max_value=90,
        initial=15,
        help_text=_("业主大会会议须提前15日通知全体业主（《物业管理条例》第十四条）"),
    )
    consent_percent = forms.IntegerField(
        label=_("同意比例（%，仅改造意愿征询）"), min_value=1, max_value=100, initial=80, required=False
    )
    description = forms.CharField(label=_("说明"), widget=forms.Textarea(attrs={"rows": 4}), required=False)
    matter_ref = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)

    def __init__(self, *args, unit_sets=None, **kwargs):
        super().__init__(*args, **kwargs)
        # The Art. 278 items in the page's language (the model's choices keep the statutory Chinese).
        english = (get_language() or "").startswith("en")
        self.fields["matter"].choices = [("", "—")] + [
            (m.value, f"({m.item}) {m.label_en}" if english else f"（{m.item}）{m.label_zh}") for m in Matter
        ]
        self.fields["unit_set"].queryset = unit_sets


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("短信验证码"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
        error_messages={
            "required": _("请输入6位验证码 / enter the 6-digit code"),
            "min_length": _("验证码为6位数字 / the code has 6 digits"),
        },
    )


class ChoiceForm(forms.Form):
    choice = forms.ChoiceField(
        label=_("您的意见"),
        choices=Ballot.Choice.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择同意、不同意或弃权 / choose yes, no or abstain")},
    )


class WorkerBallotForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("投票渠道"),
        widget=forms.RadioSelect,
        choices=[(c.value, c.label) for c in Ballot.Channel if c != Ballot.Channel.ONLINE],
        error_messages={"required": _("请选择投票渠道 / choose the channel")},
    )
    choice = forms.ChoiceField(
        label=_("业主的意见"),
        choices=Ballot.Choice.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择同意、不同意或弃权 / choose yes, no or abstain")},
    )
    proxy_name = forms.CharField(label=_("代理人姓名（委托投票时填写）"), max_length=100, required=False)
    attachment = forms.FileField(
        label=_("选票扫描件或授权委托书（图片或PDF）"),
        required=False,
        help_text=_("纸质票须附扫描件；委托投票须附签字的授权委托书"),
    )

    def clean(self):
        data = super().clean()
        channel = data.get("channel")
        if channel == Ballot.Channel.PROXY and not (data.get("proxy_name") or "").strip():
            self.add_error("proxy_name", _("请填写代理人姓名 / the proxy's name is required"))
        if channel in (Ballot.Channel.PAPER, Ballot.Channel.PROXY) and not data.get("attachment"):
            self.add_error(
                "attachment", _("纸质票须附扫描件，委托投票须附授权委托书 / attach the scan or the authorisation")
            )
        return data


class ReceiptForm(forms.Form):
    code = forms.CharField(label=_("回执码"), max_length=20, help_text=_("投票后获得的12位回执码，例如 7K3M-Q9TD-2XHB"))
