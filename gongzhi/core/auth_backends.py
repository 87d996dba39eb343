"""Sign-in backends: passwords with lockout after repeated failures, and one-time SMS codes for residents."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models import F
from django.dispatch import receiver
from django.utils import timezone

from gongzhi.core.models import AccountLock, User
from gongzhi.core.sms import check_code


def is_locked(username: str) -> bool:
    return AccountLock.objects.filter(username=username.lower(), locked_until__gt=timezone.now()).exists()


def register_failure(username: str) -> None:
    """Count a failure; lock once the limit is reached. F() updates keep concurrent failures all counted."""
    username = username.lower()
    now = timezone.now()
    lock, _ = AccountLock.objects.get_or_create(username=username)
    AccountLock.objects.filter(pk=lock.pk).update(failures=F("failures") + 1, last_failure_at=now)
    lock.refresh_from_db()
    if lock.failures >= settings.GONGZHI_LOCKOUT_ATTEMPTS:
        AccountLock.objects.filter(pk=lock.pk).update(
            locked_until=now + timedelta(minutes=settings.GONGZHI_LOCKOUT_MINUTES), failures=0
        )


class LockoutModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username and is_locked(username):
            if request is not None:
                request.gongzhi_locked = True
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class SmsCodeBackend(ModelBackend):
    def authenticate(self, request, phone=None, sms_code=None, **kwargs):
        if not phone or not sms_code:
            return None
        if is_locked(f"sms:{phone}"):
            return None
        if not check_code(phone, "login", sms_code):
            register_failure(f"sms:{phone}")
            return None
        user = User.objects.filter(phone=phone, is_active=True).first()
        return user if user and self.user_can_authenticate(user) else None


@receiver(user_login_failed)
def _on_failure(sender, credentials, request=None, **kwargs):
    username = credentials.get("username")
    if username:
        register_failure(username)


@receiver(user_logged_in)
def _on_success(sender, request, user, **kwargs):
    AccountLock.objects.filter(username=user.username.lower()).update(failures=0, locked_until=None)
