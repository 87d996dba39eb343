"""Web forms that create things carry an idempotency key, so a retry after an unclear failure (a timeout, a
500 after the commit, a double click, the browser's "resend") never creates twice.

The form carries `{% load once %}{% once_field %}` — a fresh random key each time it is rendered.
`OnceMiddleware` runs a POST that carries one inside a transaction that first records the key (keyed hash of
the user or session, the path and the key): the view's writes and the key commit together or not at all.
- A repeat of a submission that succeeded is not run again: it is sent where the first one went (its redirect),
  or told it was already received.
- Two copies racing: the second waits on the key's unique index until the first commits, then is a repeat.
- A submission the view refuses (4xx) or fails (exception, 5xx) rolls back with its key: sending it again runs it.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import crypto
from gongzhi.core.models import FormSubmission

FIELD = "_once"
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
KEEP = timedelta(days=2)


def new_key() -> str:
    return secrets.token_urlsafe(18)


def _digest(request, key: str) -> str:
    user = getattr(request, "user", None)
    who = f"user:{user.pk}" if user is not None and user.is_authenticated else f"session:{request.session.session_key}"
    return crypto.lookup_hash(f"{who}\x1f{request.path}\x1f{key}", context="form-once")


class OnceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.POST.get(FIELD, "") if request.method == "POST" else ""
        if not _KEY.match(key):
            return self.get_response(request)

        if not request.user.is_authenticated and not request.session.session_key:
            request.session.save()  # an anonymous form needs a session to tie its key to
        digest = _digest(request, key)
        earlier = FormSubmission.objects.filter(digest=digest).first()
        if earlier is not None:
            return self._repeat(request, earlier)
        try:
            with transaction.atomic():
                FormSubmission.objects.create(digest=digest, created_at=timezone.now())
                response = self.get_response(request)
                if response.status_code >= 400:
                    transaction.set_rollback(True)  # refused or failed: nothing kept, the key neither
                    return response
                url = response.get("Location", "") if 300 <= response.status_code < 400 else ""
                FormSubmission.objects.filter(digest=digest).update(result_url=url[:500])
        except IntegrityError:  # the same submission raced this one and committed first
            earlier = FormSubmission.objects.filter(digest=digest).first()
            if earlier is None:
                raise
            return self._repeat(request, earlier)
        if timezone.now().second == 0:  # now and then: keys are needed for a retry, not for ever
            FormSubmission.objects.filter(created_at__lt=timezone.now() - KEEP).delete()
        return response

    def _repeat(self, request, earlier) -> HttpResponseRedirect:
        from django.contrib import messages

        if earlier.result_url:
            messages.info(
                request,
                _("这份表单已经提交过，没有重复提交。"),
            )
            return HttpResponseRedirect(earlier.result_url)
        return render(
            request,
            "core/refused.html",
            {"text": _("这份表单已经提交过，没有重复提交。")},
            status=409,
        )
