from django import forms
from django.utils.translation import gettext_lazy as _


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("查找"),
        max_length=100,
        required=False,
        help_text=_("小区、楼院名称或地址；房屋如“1号楼-1单元-101”；居民的手机号或身份证号（须完全一致）"),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )

    def clean_q(self) -> str:
        return " ".join(self.cleaned_data["q"].split())


class EraseForm(forms.Form):
    """The erase page: the reason (kept in the audit log) and an explicit confirmation."""

    reason = forms.CharField(
        label=_("删除理由"),
        max_length=300,
        help_text=_(
            "例如：本人书面申请删除（申请编号）、已迁出且无法定保存义务。理由记入审计日志，请勿写入姓名或号码。"
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("请填写删除理由 / give the reason for erasing")},
    )
    confirm = forms.BooleanField(
        label=_("我已核实身份和理由，确认删除此人的个人信息（不可恢复）"),
        error_messages={"required": _("请勾选确认 / tick the box to confirm")},
    )

    def clean_reason(self) -> str:
        reason = " ".join(self.cleaned_data["reason"].split())
        if not reason:
            raise forms.ValidationError(_("请填写删除理由 / give the reason for erasing"), code="required")
        return reason
