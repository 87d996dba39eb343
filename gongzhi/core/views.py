from __future__ import annotations

import base64

from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from gongzhi.core import audit, sms
from gongzhi.core.forms import LoginForm, OtpForm, PhoneForm, SmsLoginForm
from gongzhi.core.models import Upload
from gongzhi.core.roles import ROLES
from gongzhi.core.rules import assignments


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@require_http_methods(["GET", "POST"])
def sms_login(request):
    """Residents sign in with a one-time code sent to their phone; two steps, one field each."""
    step = "code" if request.session.get("sms_phone") else "phone"
    if request.method == "POST" and "send" in request.POST:
        form = PhoneForm(request.POST)
        if form.is_valid():
            try:
                sms.issue_code(form.cleaned_data["phone"], "login")
            except sms.CodeError as e:
                form.add_error("phone", str(e))
            else:
                request.session["sms_phone"] = form.cleaned_data["phone"]
                messages.info(request, _("验证码已发送，请查看手机短信。"))
                return redirect("core:sms-login")
        return render(request, "core/sms_login.html", {"form": form, "step": "phone"})
    if request.method == "POST":
        data = request.POST.copy()
        data["phone"] = request.session.get("sms_phone", "")
        form = SmsLoginForm(data)
        if form.is_valid():
            user = authenticate(request, phone=form.cleaned_data["phone"], sms_code=form.cleaned_data["code"])
            if user is not None:
                request.session.pop("sms_phone", None)
                login(request, user, backend="gongzhi.core.auth_backends.SmsCodeBackend")
                return redirect("core:home")
            form.add_error("code", _("验证码不正确或已过期 / the code is wrong or has expired"))
        return render(request, "core/sms_login.html", {"form": form, "step": "code"})
    if request.GET.get("restart"):
        request.session.pop("sms_phone", None)
        step = "phone"
    form = PhoneForm() if step == "phone" else SmsLoginForm(initial={"phone": request.session["sms_phone"]})
    return render(request, "core/sms_login.html", {"form": form, "step": step})


@login_required
@require_http_methods(["GET", "POST"])
def otp(request):
    """Second factor (TOTP) for roles that see unmasked personal data: enrol once, then verify each sign-in."""
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    enrolling = device is None
    if enrolling:
        device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first() or TOTPDevice.objects.create(
            user=request.user, name="authenticator", confirmed=False
        )
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                audit.record("core.enrol_second_factor", request.user, actor=request.user)
            otp_login(request, device)
            nxt = request.GET.get("next", "")
            safe = url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()})
            return redirect(nxt if safe and nxt else "core:home")
        form.add_error("token", _("动态验证码不正确 / the code is not correct"))
    secret = base64.b32encode(device.bin_key).decode() if enrolling else ""
    return render(
        request,
        "core/otp.html",
        {"form": form, "enrolling": enrolling, "secret": secret, "uri": device.config_url if enrolling else ""},
    )


@login_required
def home(request):
    roles = [(ROLES[r].label, path) for r, path in assignments(request.user) if r in ROLES]
    return render(request, "core/home.html", {"roles": roles})


@login_required
def baseline(request):
    """The base page with no data behind it: the page benchmark's yardstick for the cost of a signed-in page."""
    return render(request, "base.html")


@login_required
def upload_file(request, key):
    upload = get_object_or_404(Upload, key=key)
    if not (request.user.has_perm("core.view_upload", upload) or upload.uploaded_by_id == request.user.id):
        raise PermissionDenied
    if not upload.file:
        raise Http404
    return FileResponse(upload.file.open("rb"), content_type=upload.content_type, filename=upload.original_name)
