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

from gongzhi.core import crypto
from gongzhi.core.models import SmsCode


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


def _hash(phone: str, purpose: str, code: str) -> str:
    return crypto.mac(f"sms:{purpose}:{phone}:{code}".encode())


@transaction.atomic
def issue_code(phone: str, purpose: str = "login") -> None:
    now = timezone.now()
    recent = SmsCode.objects.filter(
        phone=phone, purpose=purpose, created_at__gt=now - timedelta(seconds=RESEND_SECONDS)
    ).exists()
    if recent:
        raise CodeError("验证码已发送，请1分钟后再试", "a code was just sent; try again in a minute")
    code = f"{secrets.randbelow(10**6):06d}"
    minutes = settings.GONGZHI_SMS_CODE_MINUTES
    SmsCode.objects.create(
        phone=phone, purpose=purpose, code_hash=_hash(phone, purpose, code), expires_at=now + timedelta(minutes=minutes)
    )
    send_sms(phone, f"【共治】您的验证码是{code}，{minutes}分钟内有效。请勿告诉他人。")


def check_code(phone: str, purpose: str, code: str) -> bool:
    """Consume a valid code once: the conditional update makes a code usable by exactly one request."""
    now = timezone.now()
    sms = (
        SmsCode.objects.filter(phone=phone, purpose=purpose, used_at__isnull=True, expires_at__gt=now)
        .order_by("-id")
        .first()
    )
    if sms is None or sms.attempts >= MAX_ATTEMPTS:
        return False
    if not hmac.compare_digest(sms.code_hash, _hash(phone, purpose, (code or "").strip())):
        SmsCode.objects.filter(pk=sms.pk).update(attempts=F("attempts") + 1)
        return False
    return SmsCode.objects.filter(pk=sms.pk, used_at__isnull=True).update(used_at=now) == 1


def code_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()
