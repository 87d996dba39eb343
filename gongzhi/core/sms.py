"""SMS through a pluggable gateway, and one-time codes (sign-in, identity confirmation before a vote).

Backends: FileBackend (appends JSON lines to settings.GONGZHI_SMS_OUTBOX — the demo's and tests' gateway),
ConsoleBackend, LocmemBackend (tests read `LocmemBackend.outbox`). A real gateway implements `send()` and raises
when the message was not accepted.

Sending is a background job: `send_sms` records the message (OutgoingSms, in the caller's transaction, so a
rolled-back change sends nothing) and queues `deliver_sms` once the transaction commits. The job runs under the
message's job lock (core.jobs.tracked): a gateway failure is retried with a growing pause, up to
GONGZHI_SMS_MAX_ATTEMPTS tries, then the message is marked failed and logged; a worker that died mid-send is found
by `jobs.reap` and the message retried or failed the same way — never left "sending". Delivery is at least once:
a worker killed after the gateway took the message but before it was marked sent sends it again on the retry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task

from gongzhi.core import crypto, jobs, limits, pii
from gongzhi.core.models import OutgoingSms, SmsCode, User

logger = logging.getLogger(__name__)


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


# --- Outgoing messages: recorded, queued after commit, delivered by a tracked job with retries ----------------

URGENT = 10  # task priority of a one-time code: a resident is waiting at the sign-in form
_SEAL_PHONE, _SEAL_TEXT = "sms.phone", "sms.text"


def mask_text(text: str, conceal: Iterable[str]) -> str:
    """The text as kept for the record: each secret in it (a code, a link's token) replaced by asterisks."""
    for secret in conceal:
        if secret:
            text = text.replace(secret, "*" * 6)
    return text


def phone_digest(phone: str) -> str:
    """The keyed hash the message log is searched by (a full number typed in finds its messages)."""
    return crypto.lookup_hash(phone, context=_SEAL_PHONE)


def send_sms(
    phone: str,
    text: str,
    *,
    kind: str = "notice",
    conceal: Iterable[str] = (),
    expires_at: datetime | None = None,
) -> OutgoingSms:
    """Queue a message: recorded now, in the surrounding transaction, and handed to the task worker once it
    commits — a rolled-back change records and sends nothing. `conceal` lists the secrets in the text (a code, a
    link's token) that the record must not keep; `expires_at` gives up a message not sent by then (a code)."""
    message = OutgoingSms.objects.create(
        kind=kind[:20],
        phone_masked=pii.mask_phone(phone),
        phone_digest=phone_digest(phone),
        phone_sealed=crypto.encrypt(phone, context=_SEAL_PHONE),
        text_sealed=crypto.encrypt(text, context=_SEAL_TEXT),
        text_shown=mask_text(text, conceal),
        expires_at=expires_at,
    )
    message_id, urgent = message.pk, kind == "code"
    transaction.on_commit(lambda: enqueue(message_id, urgent=urgent))
    return message


def enqueue(message_id: int, *, urgent: bool = False, run_after: datetime | None = None) -> bool:
    """Hand a message to the task worker (at once, or not before `run_after` where the backend can wait).
    False when the backend cannot wait: `retry_due` (run by reap_jobs) queues it when it is due."""
    options: dict = {}
    task_backend = deliver_sms.get_backend()
    if urgent and task_backend.supports_priority:
        options["priority"] = URGENT
    if run_after is not None:
        if not task_backend.supports_defer:
            return False
        options["run_after"] = run_after
    (deliver_sms.using(**options) if options else deliver_sms).enqueue(message_id)
    return True


def max_attempts() -> int:
    return max(1, int(settings.GONGZHI_SMS_MAX_ATTEMPTS))


def backoff(attempts: int) -> timedelta:
    """The pause after the n-th failed try: GONGZHI_SMS_RETRY_SECONDS, four times longer each time, at most 30 min."""
    return timedelta(seconds=min(int(settings.GONGZHI_SMS_RETRY_SECONDS) * 4 ** max(attempts - 1, 0), 1800))


class GatewayGaveUp(RuntimeError):
    """A message given up after its last try (recorded failed; raised so the job's run says failed too)."""


def _finish(message_id: int, status: str, **fields) -> None:
    """A final state: the number and text in clear (sealed) are wiped; only the masked record stays."""
    OutgoingSms.objects.filter(pk=message_id).update(
        status=status, phone_sealed="", text_sealed="", next_attempt_at=None, **fields
    )


@task()
def deliver_sms(message_id: int) -> str:
    """Send one recorded message through the gateway; returns its state (sent, retrying, failed, or as found)."""
    with jobs.tracked("sms", message_id):  # a worker dying mid-send is found by jobs.reap, retried or failed
        return _deliver(message_id)


def _deliver(message_id: int) -> str:
    now = timezone.now()
    # Claimed by one conditional update: a message queued twice (a retry and the sweep) is sent by one run only.
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + timedelta(seconds=5))
    claimed = OutgoingSms.objects.filter(
        due, pk=message_id, status__in=(OutgoingSms.Status.QUEUED, OutgoingSms.Status.RETRYING)
    ).update(status=OutgoingSms.Status.SENDING, attempts=F("attempts") + 1, next_attempt_at=None)
    message = OutgoingSms.objects.filter(pk=message_id).first()
    if message is None or not claimed:
        return message.status if message else "missing"
    if message.expires_at and now >= message.expires_at:
        _finish(message_id, OutgoingSms.Status.FAILED, error="未能在有效期内发出 / expired before it could be sent")
        logger.error("sms %s (%s): expired before it could be sent", message_id, message.phone_masked)
        return OutgoingSms.Status.FAILED
    phone = crypto.decrypt(message.phone_sealed, context=_SEAL_PHONE)
    text = crypto.decrypt(message.text_sealed, context=_SEAL_TEXT)
    try:
        backend().send(phone, text)
    except Exception as e:
        error = f"{type(e).__name__}: {e}"[:2000]
        retry_at = timezone.now() + backoff(message.attempts)
        if message.attempts >= max_attempts() or (message.expires_at and retry_at >= message.expires_at):
            _finish(message_id, OutgoingSms.Status.FAILED, error=error)
            logger.error(
                "sms %s to %s failed after %s tries, given up: %s",
                message_id,
                message.phone_masked,
                message.attempts,
                error,
            )
            raise GatewayGaveUp(error) from e
        OutgoingSms.objects.filter(pk=message_id).update(
            status=OutgoingSms.Status.RETRYING, next_attempt_at=retry_at, error=error
        )
        logger.warning(
            "sms %s: gateway failed (try %s), retrying at %s: %s", message_id, message.attempts, retry_at, error
        )
        enqueue(message_id, run_after=retry_at)
        return OutgoingSms.Status.RETRYING
    _finish(message_id, OutgoingSms.Status.SENT, sent_at=timezone.now(), error="")
    return OutgoingSms.Status.SENT


@jobs.on_dead("sms")
def _sms_worker_died(message_id: int, attempts: int, gave_up: bool) -> None:
    """A message whose worker died while sending: tried again, or after the last try marked failed."""
    message = OutgoingSms.objects.filter(pk=message_id, status=OutgoingSms.Status.SENDING).first()
    if message is None:
        return
    if gave_up or message.attempts >= max_attempts():
        _finish(message_id, OutgoingSms.Status.FAILED, error=jobs.DIED)
        return
    OutgoingSms.objects.filter(pk=message_id, status=OutgoingSms.Status.SENDING).update(
        status=OutgoingSms.Status.RETRYING, next_attempt_at=timezone.now(), error=jobs.DIED
    )
    enqueue(message_id, urgent=message.kind == "code")


def retry_due(now: datetime | None = None) -> list[int]:
    """Queue again the messages whose turn has passed with no run taking them: a retry the task backend could
    not defer, a queued message whose hand-over was lost (the web process died right after commit). Each is
    given a grace period first, so a message already in the worker's queue is not normally queued twice (and
    if it is, the claim in `_deliver` sends it once). Run by `manage.py reap_jobs`."""
    now = now or timezone.now()
    grace = timedelta(seconds=int(settings.GONGZHI_SMS_RETRY_SECONDS))
    rows = list(
        OutgoingSms.objects.filter(
            Q(status=OutgoingSms.Status.RETRYING, next_attempt_at__lte=now - grace)
            | Q(status=OutgoingSms.Status.QUEUED, created_at__lte=now - 10 * grace)
        )
        .order_by("id")
        .values_list("pk", "kind")[:1000]
    )
    for message_id, kind in rows:
        OutgoingSms.objects.filter(pk=message_id, status=OutgoingSms.Status.RETRYING).update(next_attempt_at=None)
        enqueue(message_id, urgent=kind == "code")
    return [pk for pk, _kind in rows]


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
    send_sms(
        phone,
        f"【共治】您的验证码是{code}，{minutes}分钟内有效。请勿告诉他人。",
        kind="code",
        conceal=(code,),
        expires_at=now + timedelta(minutes=minutes),
    )


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
