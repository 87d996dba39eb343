from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from gongzhi.core.context import request_id_var
from gongzhi.core.rules import needs_second_factor

_RID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Give each request an id (or keep a sane X-Request-ID from the load balancer) for the audit log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request.headers.get("X-Request-ID", "")
        rid = rid if _RID.match(rid) else uuid.uuid4().hex
        request.request_id = rid
        token = request_id_var.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = rid
        return response


class SecondFactorMiddleware:
    """Roles that see unmasked personal data must pass a second factor (TOTP) before using the site."""

    EXEMPT_PREFIXES = ("/accounts/", "/static/", "/i18n/", "/api/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            settings.GONGZHI_REQUIRE_SECOND_FACTOR
            and user is not None
            and user.is_authenticated
            and not request.path.startswith(self.EXEMPT_PREFIXES)
            and not user.is_verified()
            and needs_second_factor(user)
        ):
            return redirect(f"{reverse('core:otp')}?next={request.get_full_path()}")
        return self.get_response(request)
