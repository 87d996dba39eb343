"""SMS through a pluggable gateway, and one-time codes (sign-in, identity confirmation before a vote).

Backends: FileBackend (appends JSON lines to settings.GONGZHI_SMS_OUTBOX — the demo's and tests' gateway),
ConsoleBackend, LocmemBackend (tests read `LocmemBackend.outbox`). A real gateway implements `send()`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from gongzhi.core import crypto, limits
from gongzhi.core.models import SmsCode, User


class BaseBackend:
    def send(self, phone: str, text: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class FileBackend(BaseBackend):
    _lock = threading.Lock()

    def send(self, phone: str, text: str) -> None:
        line = json.dumps({"at": timezone.now().isoformat(), "to": phone, "text": text}, ensure_ascii=False)
        with self._lock, open(settings.GONGZHI_SMS_OUTBOX, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


class ConsoleBackend(BaseBackend):
    def send(self, phone: str, text: str) -> None:
        print(f"[SMS to {phone}] {text}", flush=True)


class LocmemBackend(BaseBackend):
    outbox: list[dict] = []

    def send(self, phone: str, text: str) -> None:
        LocmemBackend.outbox.append({"to": phone, "text": text})


def backend() -> BaseBackend:
    return import_string(settings.GONGZHI_SMS_BACKEND)()


def send_sms(phone: str, text: str) -> None:
    """Send after the surrounding transaction commits, so a rolled-back change never sends a message."""
    transaction.on_commit(lambda: backend().send(phone, text))


class CodeError(ValueError):
    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


MAX_ATTEMPTS = 5
RESEND_SECONDS = 60
DAY = 24 * 3600


def _hash(phone: str, purpose: str, code: str) -> str:
    return crypto.mac(f"sms:{purpose}:{phone}:{code}".encode())


def issue_code(phone: str, purpose: str = "login", *, address: str = "") -> None:
    """Send a one-time code, within limits counted before the check (core.limits, shared by every worker):
    one per number and purpose a minute, GONGZHI_SMS_PER_NUMBER_DAY per number a day, GONGZHI_SMS_PER_ADDRESS_HOUR
    per requesting address an hour, GONGZHI_SMS_PER_DAY in all a day.

    A sign-in code goes only to a number an active account has; any other number gets the same answer and no
    message, so the form tells nobody which numbers are registered and sends nothing to strangers."""
    checks = [
        (("sms-resend", phone, purpose), 1, RESEND_SECONDS),
        (("sms-number", phone), settings.GONGZHI_SMS_PER_NUMBER_DAY, DAY),
        (("sms-all",), settings.GONGZHI_SMS_PER_DAY, DAY),
    ]
    if address:
        checks.insert(1, (("sms-address", address), settings.GONGZHI_SMS_PER_ADDRESS_HOUR, 3600))
    for parts, limit, seconds in checks:
        decision = limits.hit(parts, limit, seconds)
        if not decision.allowed:
            if parts[0] == "sms-resend":
                raise CodeError("验证码已发送，请1分钟后再试", "a code was just sent; try again in a minute")
            raise CodeError(
                "验证码发送过于频繁，请稍后再试或拨打服务热线",
                "too many codes were sent; try later or call the hotline",
            )
    if purpose == "login" and not User.objects.filter(phone=phone, is_active=True).exists():
        return
    _create_and_send(phone, purpose)


@transaction.atomic
def _create_and_send(phone: str, purpose: str) -> None:
    now = timezone.now()
    code = f"{secrets.randbelow(10**6):06d}"
    minutes = settings.GONGZHI_SMS_CODE_MINUTES
    SmsCode.objects.create(
        phone=phone, purpose=purpose, code_hash=_hash(phone, purpose, code), expires_at=now + timedelta(minutes=minutes)
    )
    send_sms(phone, f"【共治】您的验证码是{code}，{minutes}分钟内有效。请勿告诉他人。")


def check_code(phone: str, purpose: str, code: str) -> bool:
    """Consume a valid code once. Each guess is counted before it is compared, by a conditional update that
    only a code with guesses left passes, so concurrent guesses get MAX_ATTEMPTS comparisons in all; the final
    conditional update makes a right code usable by exactly one request."""
    now = timezone.now()
    sms = (
        SmsCode.objects.filter(phone=phone, purpose=purpose, used_at__isnull=True, expires_at__gt=now)
        .order_by("-id")
        .first()
    )
    if sms is None:
        return False
    if not SmsCode.objects.filter(pk=sms.pk, attempts__lt=MAX_ATTEMPTS).update(attempts=F("attempts") + 1):
        return False
    if not hmac.compare_digest(sms.code_hash, _hash(phone, purpose, (code or "").strip())):
        return False
    return SmsCode.objects.filter(pk=sms.pk, used_at__isnull=True).update(used_at=now) == 1


def code_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()
