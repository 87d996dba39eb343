from __future__ import annotations

import re
import time
import uuid

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.shortcuts import redirect
from django.urls import reverse

from gongzhi.core import limits
from gongzhi.core.api import GENERIC
from gongzhi.core.context import channel_var, request_id_var
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
        channel = channel_var.set("")
        try:
            response = self.get_response(request)
        finally:
            channel_var.reset(channel)
            request_id_var.reset(token)
        response["X-Request-ID"] = rid
        return response


class IdleSessionMiddleware(SessionMiddleware):
    """The idle timeout (等保 level 2: signed out after SESSION_COOKIE_AGE, 30 minutes, without a request) without a
    database write on every page. A session is saved when it changes, as always, and otherwise renewed at most
    once every RENEW_SECONDS: it then ends 29–30 idle minutes after the reader's last request. Renewing it on every
    request (SESSION_SAVE_EVERY_REQUEST) cost a write transaction per page, 13 per online ballot (bench/VOTING.md)."""

    RENEW_SECONDS = 60
    RENEWED = "_renewed"  # when the session was last saved (Unix seconds)

    def process_response(self, request, response):
        session = getattr(request, "session", None)
        if session is not None and session.accessed and not session.is_empty():
            now = int(time.time())
            if session.modified or now - session.get(self.RENEWED, 0) >= self.RENEW_SECONDS:
                session[self.RENEWED] = now  # marks it modified: Django saves it and renews its expiry
        return super().process_response(request, response)


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


# --- Hostile input, limits on anonymous writes, security headers ------------------------------------------------


def _has_bad_text(text: str) -> bool:
    """A NUL character or a lone surrogate: no database column can store them, so no request may carry them."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _bad_json_value(value, depth: int = 0) -> str:
    """ "" when a parsed JSON body is acceptable, else why not (nesting beyond MAX_JSON_DEPTH, a bad string)."""
    if depth > MAX_JSON_DEPTH:
        return "depth"
    if isinstance(value, str):
        return "text" if _has_bad_text(value) else ""
    if isinstance(value, dict):
        for key, item in value.items():
            reason = ("text" if _has_bad_text(key) else "") or _bad_json_value(item, depth + 1)
            if reason:
                return reason
    elif isinstance(value, list):
        for item in value:
            reason = _bad_json_value(item, depth + 1)
            if reason:
                return reason
    return ""


MAX_JSON_DEPTH = 32

_REFUSALS = {
    "text": (
        "请求中含有无法保存的字符（如空字符）",
        "the request contains characters that cannot be stored (e.g. NUL)",
    ),
    "depth": ("JSON 嵌套层数过多", "the JSON is nested too deeply"),
    "json": ("JSON 格式有误", "the JSON is malformed"),
    "limit": ("提交过于频繁，请稍后再试", "too many submissions; try again later"),
}


def refuse(request, status: int, field: str | None, reason: str, retry_after: int = 0):
    """A refusal in the documented JSON shape under /api/, else a page in the reader's language."""
    from django.http import JsonResponse
    from django.shortcuts import render
    from django.utils.translation import get_language

    zh, en = _REFUSALS[reason]
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {
                "status": status,
                "message": GENERIC[status][0],
                "message_en": GENERIC[status][1],
                "errors": [{"field": field, "message": zh, "message_en": en, "code": reason}],
            },
            status=status,
        )
    else:
        text = en if (get_language() or "").startswith("en") else zh
        response = render(request, "core/refused.html", {"text": text, "field": field}, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


class HostileInputMiddleware:
    """Refuse with 400 what would otherwise fail deep inside: NUL characters and lone surrogates in the path, the
    query string, a request header (an Idempotency-Key or a token goes into a query), form fields or a JSON body,
    and JSON nested deeper than MAX_JSON_DEPTH (which would exhaust the parser's recursion). Then every view can
    trust that its text fits a database column."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        reason, field = self._check(request)
        if reason:
            return refuse(request, 400, field, reason)
        return self.get_response(request)

    def _check(self, request) -> tuple[str, str | None]:
        from urllib.parse import unquote

        if _has_bad_text(request.path) or "%00" in request.META.get("PATH_INFO", ""):
            return "text", None
        raw_query = request.META.get("QUERY_STRING", "")
        if "%00" in raw_query or "\x00" in unquote(raw_query, errors="surrogateescape"):
            return "text", None
        for key, values in request.GET.lists():
            if _has_bad_text(key) or any(_has_bad_text(v) for v in values):
                return "text", key
        for name, value in request.META.items():
            if name.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
                return "text", name[5:].replace("_", "-").title()  # HTTP_IDEMPOTENCY_KEY: "Idempotency-Key"
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return "", None
        content_type = request.content_type or ""
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                post = request.POST
            except Exception:  # a malformed multipart body: the view would answer the same
                return "", None
            for key, values in post.lists():
                if _has_bad_text(key) or any(_has_bad_text(v) for v in values):
                    return "text", key
        elif content_type.endswith("json"):
            import json

            try:
                body = request.body
                if not body.strip():
                    return "", None
                value = json.loads(body)
            except RecursionError:
                return "depth", None
            except ValueError:
                return "json", None
            return _bad_json_value(value), None
        return "", None


class AnonymousWriteLimitMiddleware:
    """Every write by someone not signed in (forms and API calls without credentials) counts against the address
    it came from: GONGZHI_ANONYMOUS_WRITES_PER_HOUR, in the database, so it holds across workers. Parts with a
    tighter limit of their own (the dumping report's 5 an hour) count that too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.method not in ("GET", "HEAD", "OPTIONS")
            and not request.user.is_authenticated
            and "HTTP_AUTHORIZATION" not in request.META  # an API call with a token: DRF decides who it is
        ):
            decision = limits.hit(
                ("anonymous-write", limits.client_address(request)), settings.GONGZHI_ANONYMOUS_WRITES_PER_HOUR, 3600
            )
            if not decision.allowed:
                return refuse(request, 429, None, "limit", decision.retry_after)
        return self.get_response(request)


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class SecurityHeadersMiddleware:
    """A strict Content-Security-Policy (scripts and styles only from our own files: no inline code, nothing from
    elsewhere), HSTS whenever cookies are marked secure (the deployment says it is served over HTTPS), and
    `Cache-Control: no-store` on every answer that is not a static asset — pages, files, exports and API answers
    may carry personal data, and no browser or proxy should keep them."""

    HSTS = "max-age=31536000; includeSubDomains"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if settings.SESSION_COOKIE_SECURE:
            response.setdefault("Strict-Transport-Security", self.HSTS)
        if not request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            response["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
        return response
