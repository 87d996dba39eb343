from __future__ import annotations

import base64

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q, Subquery
from django.http import FileResponse, Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from gongzhi.core import actions, frontdoor, limits, sms
from gongzhi.core.auth_backends import is_locked
from gongzhi.core.forms import (
    EnrolmentCodeForm,
    LoginForm,
    OtpForm,
    PhoneForm,
    SecondFactorUserSearchForm,
    SmsLoginForm,
)
from gongzhi.core.gate import check, permission_required
from gongzhi.core.models import EnrolmentCode, RoleAssignment, Upload, User
from gongzhi.core.roles import ROLES, roles_with
from gongzhi.core.rules import SECOND_FACTOR_MANAGERS, assignments, scope_q


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
                sms.issue_code(form.cleaned_data["phone"], "login", address=limits.client_address(request))
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


ENROLMENT_SESSION_KEY = "gongzhi_otp_enrolment"  # {"user", "code", "device"} once a right enrolment code was entered


def _next_or_home(request):
    nxt = request.GET.get("next", "")
    safe = url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()})
    return redirect(nxt if safe and nxt else "core:home")


def _locked_out(request):
    """Wrong enrolment codes lock the account like wrong passwords: sign out, so the lock really bites."""
    logout(request)
    messages.error(
        request,
        _(
            "因多次输错，该账号已暂时锁定，请%(minutes)d分钟后再试。 / Locked after repeated failures; try again in "
            "%(minutes)d minutes."
        )
        % {"minutes": settings.GONGZHI_LOCKOUT_MINUTES},
    )
    return redirect("core:login")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def otp(request):
    """Second factor (TOTP) for roles that see unmasked personal data: verify each sign-in; enrol once.

    Enrolment needs the one-time enrolment code a district administrator handed over out of band: first the
    code, and only then the secret and the first 6-digit code. The session remembers the accepted code (by id)
    between the two steps; the code is used up when the authenticator is confirmed (see
    actions.accept_enrolment_code for why).
    """
    user = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        request.session.pop(ENROLMENT_SESSION_KEY, None)
        form = OtpForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if device.verify_token(form.cleaned_data["token"]):
                otp_login(request, device)
                return _next_or_home(request)
            form.add_error("token", _("动态验证码不正确 / the code is not correct"))
        return render(request, "core/otp.html", {"form": form, "step": "verify", "enrolling": False, "secret": ""})

    if is_locked(user.username):
        return _locked_out(request)
    state = request.session.get(ENROLMENT_SESSION_KEY)
    pending = None
    if state and state.get("user") == user.pk:
        pending = actions.pending_enrolment(user, code_id=state["code"], device_id=state["device"])
    if pending is None:
        if state:  # the code was revoked, used or expired since it was entered
            request.session.pop(ENROLMENT_SESSION_KEY, None)
            messages.error(request, str(actions.stale_enrolment_code()))
            return redirect(request.get_full_path())
        return _enrolment_code_step(request)

    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            confirmed = actions.confirm_enrolment(
                user, code_id=state["code"], device_id=state["device"], token=form.cleaned_data["token"]
            )
        except actions.EnrolmentCodeError as e:
            request.session.pop(ENROLMENT_SESSION_KEY, None)
            messages.error(request, str(e))
            return redirect(request.get_full_path())
        if confirmed is not None:
            request.session.pop(ENROLMENT_SESSION_KEY, None)
            otp_login(request, confirmed)
            return _next_or_home(request)
        form.add_error("token", _("动态验证码不正确 / the code is not correct"))
    return render(
        request,
        "core/otp.html",
        {
            "form": form,
            "step": "confirm",
            "enrolling": True,
            "secret": base64.b32encode(pending.bin_key).decode(),
            "uri": pending.config_url,
        },
    )


def _enrolment_code_step(request):
    """Ask for the enrolment code; a right one starts enrolment (PRG back to the same address, `next` kept)."""
    user = request.user
    form = EnrolmentCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            code, device = actions.accept_enrolment_code(user, form.cleaned_data["enrolment_code"])
        except actions.EnrolmentCodeError as e:
            if is_locked(user.username):
                return _locked_out(request)
            form.add_error("enrolment_code", str(e))
        else:
            request.session[ENROLMENT_SESSION_KEY] = {"user": user.pk, "code": code.pk, "device": device.pk}
            return redirect(request.get_full_path())
    context = {"form": form, "step": "code", "enrolling": True, "secret": ""}
    return render(request, "core/otp.html", context, status=400 if form.errors else 200)


@permission_required("core.manage_second_factor")
@never_cache
@require_http_methods(["GET", "POST"])
def second_factor_users(request):
    """District administrators issue enrolment codes (绑定码) and reset a lost phone's second factor.

    The list shows users in the administrator's scope who must use a second factor and have not enrolled yet;
    the search finds anyone in scope by exact user name or display name. A new code is shown once, in the
    response to the POST that made it (never stored, never put in a message or the address).
    """
    actor = request.user
    if request.method == "POST":
        return _issue_or_reset(request)
    form = SecondFactorUserSearchForm(request.GET or None)
    q = form.cleaned_data["q"].strip() if form.is_valid() else ""
    if q:
        candidates = User.objects.filter(Q(username__iexact=q) | Q(display_name=q))
    else:
        in_scope = Q(role_assignments__role__in=roles_with("pii.unmasked"))
        scope = scope_q(actor, SECOND_FACTOR_MANAGERS, "role_assignments__scope_path")
        candidates = User.objects.filter(in_scope if scope is None else in_scope & scope).exclude(
            Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
        )
    rows = _second_factor_rows(actor, candidates)
    reset_target = None
    if request.GET.get("reset", "").isdigit():
        reset_target = next(iter(_second_factor_rows(actor, User.objects.filter(pk=request.GET["reset"]))), None)
    context = {"form": form, "q": q, "rows": rows, "reset_target": reset_target, "limit": SECOND_FACTOR_PAGE}
    return render(request, "core/second_factor_users.html", context)


SECOND_FACTOR_PAGE = 50


def _second_factor_rows(actor, candidates) -> list[dict]:
    """At most SECOND_FACTOR_PAGE users the actor may manage, with roles, enrolment state and live code: two
    queries whatever the number of rows."""
    now = timezone.now()
    live_code = EnrolmentCode.objects.filter(
        user=OuterRef("pk"), used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).values("expires_at")[:1]
    users = list(
        candidates.exclude(pk=actor.pk)
        .annotate(
            enrolled=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
            code_expires_at=Subquery(live_code),
        )
        .prefetch_related(Prefetch("role_assignments", queryset=RoleAssignment.objects.select_related("node")))
        .distinct()
        .order_by("username")[:SECOND_FACTOR_PAGE]
    )
    rows = []
    for user in users:
        held = list(user.role_assignments.all())
        user._gongzhi_roles = [(a.role, a.scope_path) for a in held]  # what rules.assignments() would query
        if actor.has_perm("core.manage_second_factor", user):
            roles = [f"{ROLES[a.role].label if a.role in ROLES else a.role}（{a.node.name}）" for a in held]
            rows.append(
                {"user": user, "roles": roles, "enrolled": user.enrolled, "code_expires_at": user.code_expires_at}
            )
    return rows


def _issue_or_reset(request):
    actor = request.user
    what = request.POST.get("do")
    user_id = request.POST.get("user", "")
    if what not in {"issue", "reset"} or not user_id.isdigit():
        return HttpResponseBadRequest(_("请求无效 / bad request"))
    target = get_object_or_404(User, pk=int(user_id))
    try:
        if what == "issue":
            issued = actions.issue_enrolment_code(target, actor=actor)
        else:
            issued = actions.reset_second_factor(target, actor=actor)
    except ValidationError as e:
        for message in e.messages:
            messages.error(request, message)
        form = SecondFactorUserSearchForm()
        rows = _second_factor_rows(actor, User.objects.filter(pk=target.pk))
        context = {"form": form, "q": "", "rows": rows, "reset_target": None, "limit": SECOND_FACTOR_PAGE}
        return render(request, "core/second_factor_users.html", context, status=400)
    context = {"target": target, "issued": issued, "reset": what == "reset", "hours": actions.ENROLMENT_CODE_HOURS}
    return render(request, "core/enrolment_code_issued.html", context)


def home(request):
    """Signed in: the reader's start page. Anonymous: the front door for residents and neighbours."""
    if not request.user.is_authenticated:
        return front_door(request)
    roles = [(ROLES[r].label, path) for r, path in assignments(request.user) if r in ROLES]
    return render(request, "core/home.html", {"roles": roles})


def front_door(request):
    """What an anonymous visitor may use: the hotline and what the installed parts offer (their services, the
    notices in force, vote results and the receipt check). Every link is one the gate lets this reader open."""
    found = frontdoor.contributions(request)
    services = [(reverse(name), title, text) for name, title, text in found["services"]]
    return render(
        request, "core/front.html", {"services": services, "notices": found["notices"], "votes": found["votes"]}
    )


@login_required
def baseline(request):
    """The base page with no data behind it: the page benchmark's yardstick for the cost of a signed-in page."""
    return render(request, "base.html")


@login_required
def upload_file(request, key):
    upload = get_object_or_404(Upload, key=key)
    if upload.uploaded_by_id != request.user.id:
        check(request.user, "core.view_upload", upload)  # the uploader, or staff over its area
    if not upload.file:
        raise Http404
    return FileResponse(upload.file.open("rb"), content_type=upload.content_type, filename=upload.original_name)


def not_found(request, exception=None):
    """404: the documented JSON error under /api/, the usual page elsewhere."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        from gongzhi.core.api import GENERIC  # here: the API's module (and DRF) load only for an API 404

        zh, en = GENERIC[404]
        return JsonResponse({"status": 404, "message": zh, "message_en": en, "errors": []}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
