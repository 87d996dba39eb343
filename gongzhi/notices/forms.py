from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.notices.models import Notice


class NoticeForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("类型"), choices=[(Notice.Kind.OTHER, _("其他公示")), (Notice.Kind.ASSEMBLY, _("会议召开公告"))]
    )
    title = forms.CharField(label=_("标题"), max_length=200)
    body = forms.CharField(label=_("正文"), widget=forms.Textarea(attrs={"rows": 10}))
    days = forms.IntegerField(label=_("公示期（日）"), min_value=1, max_value=365, initial=7, required=False)
    meeting_on = forms.DateField(
        label=_("会议日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("会议召开公告须在会议召开15日以前发布"),
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("撤回理由"), max_length=500)
