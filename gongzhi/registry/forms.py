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
