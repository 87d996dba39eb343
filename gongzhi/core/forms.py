from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from gongzhi.core.actions import ENROLMENT_CODE_DIGITS, normalize_enrolment_code
from gongzhi.core.pii import PiiError, normalize_mobile


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("用户名或密码不正确。连续输错5次将锁定15分钟。 / Wrong user name or password."),
        "inactive": _("该账号已停用 / This account is inactive."),
        "locked": _(
            "因多次输错密码，该账号已暂时锁定，请15分钟后再试。 / Locked after repeated failures; try again in 15 minutes."
        ),
    }

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            if getattr(self.request, "gongzhi_locked", False):
                raise forms.ValidationError(self.error_messages["locked"], code="locked") from None
            raise


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("手机号"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"})
    )

    def clean_phone(self):
        try:
            return normalize_mobile(self.cleaned_data["phone"])
        except PiiError as e:
            raise forms.ValidationError(str(e)) from None


class SmsLoginForm(PhoneForm):
    code = forms.CharField(
        label=_("短信验证码"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class OtpForm(forms.Form):
    token = forms.CharField(
        label=_("动态验证码（6位）"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class EnrolmentCodeForm(forms.Form):
    """The 8-digit enrolment code an administrator handed over; spaces, dashes and full-width digits are fine."""

    enrolment_code = forms.CharField(
        label=_("绑定码（8位数字）"),
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_enrolment_code(self):
        code = normalize_enrolment_code(self.cleaned_data["enrolment_code"])
        if not (code.isascii() and code.isdigit() and len(code) == ENROLMENT_CODE_DIGITS):
            raise forms.ValidationError(_("请输入8位数字的绑定码 / enter the 8-digit enrolment code"))
        return code


class SecondFactorUserSearchForm(forms.Form):
    q = forms.CharField(label=_("用户名或显示名称"), max_length=150, required=False)
