"""Sign-in backends: passwords with lockout after repeated failures, and one-time SMS codes for residents.

Every try is counted before the password is checked (core.limits), so concurrent tries cannot all slip in
under the limit: of 30 tries at once with a limit of 5, exactly 5 reach the password check. A counter is kept
only for accounts that exist; tries at unknown names count against the address they come from, so a flood of
invented names adds no rows per name.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save

from gongzhi.core import limits
from gongzhi.core.models import User
from gongzhi.core.rows import Read
from gongzhi.core.sms import check_code
from gongzhi.core.tokens import revoke_api_tokens

USERNAME_MAX = 150


def _account(username: str) -> tuple:
    return ("signin", username.lower())


def _window() -> int:
    return settings.GONGZHI_LOCKOUT_MINUTES * 60


def is_locked(username: str) -> bool:
    return limits.count(_account(username)) >= settings.GONGZHI_LOCKOUT_ATTEMPTS


def register_failure(username: str) -> None:
    """Count a failure that was not counted as a try (a wrong enrolment code): it locks like a wrong password."""
    decision = limits.hit(_account(username), settings.GONGZHI_LOCKOUT_ATTEMPTS, _window())
    if decision.count == settings.GONGZHI_LOCKOUT_ATTEMPTS:
        _locked_now(username)


def _locked_now(username: str) -> None:
    """The account just reached its limit: its API tokens stop working too."""
    user = User.objects.filter(username__iexact=username).first()
    if user is not None:
        revoke_api_tokens(actor=None, user=user, reason="locked")


def count_try(request, username: str) -> bool:
    """Count one sign-in try (before its password is checked); False when it must be refused unchecked.

    Known accounts: GONGZHI_LOCKOUT_ATTEMPTS tries per GONGZHI_LOCKOUT_MINUTES. Every address: at most
    GONGZHI_SIGNIN_PER_ADDRESS tries in the same window, whatever the names."""
    address = limits.client_address(request) if request is not None else "internal"
    if not limits.hit(("signin-address", address), settings.GONGZHI_SIGNIN_PER_ADDRESS, _window()).allowed:
        return False
    if len(username) > USERNAME_MAX or not User.objects.filter(username__iexact=username).exists():
        return True
    return limits.hit(_account(username), settings.GONGZHI_LOCKOUT_ATTEMPTS, _window()).allowed


class _UserRead(ModelBackend):
    """ModelBackend's `get_user` (the signed-in user, on every request with a session), its SQL built once."""

    _user = Read(User, "t.id = %s")

    def get_user(self, user_id):
        if not isinstance(user_id, int):  # the session's key is an int once Django has read it; else as Django
            return super().get_user(user_id)
        user = self._user.first(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class LockoutModelBackend(_UserRead):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        if not count_try(request, username):
            if request is not None:
                request.gongzhi_locked = True
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and is_locked(username):
            _locked_now(username)  # this failure was the last one allowed
        return user


class SmsCodeBackend(_UserRead):
    def authenticate(self, request, phone=None, sms_code=None, **kwargs):
        if not phone or not sms_code:
            return None
        if not check_code(phone, "login", sms_code):
            return None
        user = User.objects.filter(phone=phone, is_active=True).first()
        return user if user and self.user_can_authenticate(user) else None


def clear_failures(username: str) -> None:
    limits.reset(_account(username))


def _on_success(sender, request, user, **kwargs):
    clear_failures(user.username)


user_logged_in.connect(_on_success, dispatch_uid="gongzhi-signin-reset")


def _on_user_saved(sender, instance, created, **kwargs):
    if not created and getattr(instance, "_password", None) is not None:  # set_password() was called
        revoke_api_tokens(actor=None, user=instance, reason="password changed")


post_save.connect(_on_user_saved, sender=User, dispatch_uid="gongzhi-password-revokes-tokens")
