"""Changes to platform-wide data (the working-day calendar) and to second-factor enrolment, each checked, in a
transaction, audited."""

from __future__ import annotations

import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from gongzhi.core import audit, crypto
from gongzhi.core.auth_backends import register_failure
from gongzhi.core.gate import require
from gongzhi.core.models import CalendarOverride, EnrolmentCode, User
from gongzhi.core.tokens import expires_at, token_tag


@transaction.atomic
def set_calendar_override(*, actor: User | None, day: date, is_workday: bool, note: str = "") -> CalendarOverride:
    """Record an official holiday or 调休 working day the calendar package does not know yet."""
    require(actor, "core.change_calendaroverride")
    override, created = CalendarOverride.objects.update_or_create(
        day=day, defaults={"is_workday": is_workday, "note": note}
    )
    audit.record(
        "core.set_calendar_override",
        override,
        actor=actor,
        changes={"day": day.isoformat(), "is_workday": is_workday, "note": note, "created": created},
    )
    return override


@transaction.atomic
def remove_calendar_override(override: CalendarOverride, *, actor: User | None) -> None:
    require(actor, "core.change_calendaroverride")
    audit.record("core.remove_calendar_override", override, actor=actor, changes={"day": override.day.isoformat()})
    override.delete()


# --- Second-factor enrolment (绑定码) ---------------------------------------------------------------------------
# A user who must use a second factor and has no authenticator yet enrols only with a one-time enrolment code
# that a district administrator (or a superuser) issued and handed over out of band. The password alone is not
# enough: whoever stole it still lacks the code.

ENROLMENT_CODE_DIGITS = 8
ENROLMENT_CODE_HOURS = 72
ENROLMENT_CODE_MAX_ATTEMPTS = 5  # wrong codes a live code survives; password sign-ins do not reset this count
_RECENT_CODES = 10  # an entered code is compared with this many of the user's latest codes, to say why it fails


class EnrolmentCodeError(ValueError):
    """A refused enrolment code; `reason` is one of wrong, exhausted, used, revoked, expired, stale. The message
    is "中文 / English" as one msgid, so the English page shows the English alone."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class IssuedEnrolmentCode:
    """The code in clear exists only here, to be shown once to the administrator; the database keeps a hash."""

    code: str
    expires_at: datetime
    record: EnrolmentCode

    @property
    def display(self) -> str:
        return f"{self.code[:4]} {self.code[4:]}"  # 1234 5678: easier to read out over the phone


def normalize_enrolment_code(entered: str) -> str:
    """Full-width digits (a Chinese input method) become ASCII; spaces and dashes between groups go."""
    text = unicodedata.normalize("NFKC", entered or "")
    return "".join(ch for ch in text if ch not in " -\t")


def _code_hash(user_id: int, salt: str, code: str) -> str:
    return crypto.mac(f"otp-enrol:{user_id}:{salt}:{code}".encode())


def _is_live(code: EnrolmentCode, now: datetime) -> bool:
    return code.used_at is None and code.revoked_at is None and code.expires_at > now


def _require_second_factor_manager(actor: User | None, user: User) -> None:
    """None = the system (the server operator's command). Nobody manages his own second factor."""
    if actor is None:
        return
    if actor.pk == user.pk or not actor.has_perm("core.manage_second_factor", user):
        raise PermissionDenied("core.manage_second_factor")


def _lock_user(user: User) -> None:
    """Issue, reset and confirm for one user take its row lock first (and nothing else before it), so they run
    one after another; SQLite's immediate transactions serialise them anyway."""
    User.objects.select_for_update(of=("self",)).filter(pk=user.pk).first()


def _new_code(user: User, actor: User | None, now: datetime) -> tuple[IssuedEnrolmentCode, int]:
    revoked = EnrolmentCode.objects.filter(user=user, used_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=now
    )
    code = f"{secrets.randbelow(10**ENROLMENT_CODE_DIGITS):0{ENROLMENT_CODE_DIGITS}d}"
    salt = secrets.token_hex(16)
    record = EnrolmentCode.objects.create(
        user=user,
        salt=salt,
        code_hash=_code_hash(user.pk, salt, code),
        issued_by=actor if getattr(actor, "pk", None) else None,
        created_at=now,
        expires_at=now + timedelta(hours=ENROLMENT_CODE_HOURS),
    )
    return IssuedEnrolmentCode(code, record.expires_at, record), revoked


@transaction.atomic
def issue_enrolment_code(user: User, *, actor: User | None) -> IssuedEnrolmentCode:
    """Issue a one-time enrolment code for a user who has no authenticator yet; older unused codes are revoked.

    The caller shows `code` once to the administrator, who hands it over in person or by phone — never together
    with the password. A user who already has an authenticator needs a reset (lost phone), not a code.
    """
    _require_second_factor_manager(actor, user)
    _lock_user(user)
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise ValidationError(
            {
                "__all__": [
                    _(
                        "该用户已绑定身份验证器；手机丢失或更换时请用“重置二次验证” / this user already has an "
                        "authenticator; if the phone was lost or replaced, reset the second factor"
                    )
                ]
            }
        )
    now = timezone.now()
    issued, revoked = _new_code(user, actor, now)
    audit.record(
        "core.issue_enrolment_code",
        user,
        actor=actor,
        changes={"code": issued.record.pk, "expires_at": issued.expires_at.isoformat(), "revoked_codes": revoked},
    )
    return issued


@transaction.atomic
def reset_second_factor(user: User, *, actor: User | None) -> IssuedEnrolmentCode:
    """Lost or replaced phone: delete the user's authenticators and issue a new enrolment code.

    Deleting the devices also ends every session the user verified with them (django_otp re-reads the device on
    each request), so whoever holds the lost phone and a signed-in browser is stopped at the second factor.
    """
    _require_second_factor_manager(actor, user)
    _lock_user(user)
    devices = list(TOTPDevice.objects.filter(user=user).values_list("pk", flat=True))
    TOTPDevice.objects.filter(pk__in=devices).delete()
    now = timezone.now()
    issued, revoked = _new_code(user, actor, now)
    audit.record(
        "core.reset_second_factor",
        user,
        actor=actor,
        changes={
            "devices_removed": devices,
            "code": issued.record.pk,
            "expires_at": issued.expires_at.isoformat(),
            "revoked_codes": revoked,
        },
    )
    return issued


def _refuse(user: User, match: EnrolmentCode | None, now: datetime) -> EnrolmentCodeError:
    """Count a refused code (sign-in lockout, and the live code's own budget) and say why it was refused.

    Not in a transaction: the counts must stay written although the caller then raises.
    """
    register_failure(user.username)
    if match is not None:
        if match.used_at is not None:
            return EnrolmentCodeError(
                "used",
                _(
                    "这个绑定码已经用过了，不能再用。请向管理员重新领取。 / "
                    "this enrolment code has already been used; ask your administrator for a new one"
                ),
            )
        if match.revoked_at is not None:
            return EnrolmentCodeError(
                "revoked",
                _(
                    "这个绑定码已作废（管理员已签发新码或重置了二次验证），请使用管理员最新给您的绑定码。 / "
                    "this enrolment code has been revoked; use the newest code your administrator gave you"
                ),
            )
        return EnrolmentCodeError(
            "expired",
            _(
                "这个绑定码已过期（有效期72小时），请向管理员重新领取。 / "
                "this enrolment code has expired (it is valid for 72 hours); ask your administrator for a new one"
            ),
        )
    live = EnrolmentCode.objects.filter(
        user=user, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).first()
    if live is not None:
        # A conditional update, so concurrent wrong guesses are all counted and the code dies exactly once.
        EnrolmentCode.objects.filter(pk=live.pk, attempts__lt=ENROLMENT_CODE_MAX_ATTEMPTS).update(
            attempts=F("attempts") + 1
        )
        exhausted = EnrolmentCode.objects.filter(
            pk=live.pk, attempts__gte=ENROLMENT_CODE_MAX_ATTEMPTS, revoked_at__isnull=True, used_at__isnull=True
        ).update(revoked_at=now)
        if exhausted:
            audit.record(
                "core.enrolment_code_exhausted",
                user,
                actor=user,
                changes={"code": live.pk, "attempts": ENROLMENT_CODE_MAX_ATTEMPTS},
            )
            return EnrolmentCodeError(
                "exhausted",
                _(
                    "绑定码输错次数太多，这个绑定码已作废。请向管理员重新领取。 / "
                    "too many wrong enrolment codes; this code is now void — ask your administrator for a new one"
                ),
            )
    return EnrolmentCodeError(
        "wrong",
        _(
            "绑定码不正确，请核对管理员给您的8位数字后重新输入。 / "
            "the enrolment code is not correct; check the 8 digits your administrator gave you"
        ),
    )


def accept_enrolment_code(user: User, entered: str) -> tuple[EnrolmentCode, TOTPDevice]:
    """Check an entered enrolment code; if it is live, start enrolment with a fresh, unconfirmed authenticator.

    The code is not used up here but when the authenticator is confirmed (`confirm_enrolment`): a user who loses
    the page half-way (idle timeout, a typo in the app) enters the same code again instead of going back to the
    administrator, and each entry makes a new secret, so a secret shown earlier is worthless. Every refusal
    counts toward the sign-in lockout and, if it matches no code of the user, against the live code's budget of
    ENROLMENT_CODE_MAX_ATTEMPTS, after which the code is void. Raises EnrolmentCodeError.
    """
    entered = normalize_enrolment_code(entered)
    now = timezone.now()
    recent = list(EnrolmentCode.objects.filter(user=user).order_by("-id")[:_RECENT_CODES])
    match = next((c for c in recent if hmac.compare_digest(c.code_hash, _code_hash(user.pk, c.salt, entered))), None)
    if match is None or not _is_live(match, now):
        raise _refuse(user, match, now)
    with transaction.atomic():
        _lock_user(user)
        if not EnrolmentCode.objects.filter(
            pk=match.pk, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        ).exists():  # revoked or used between the look and the lock
            raise stale_enrolment_code()
        # One pending authenticator at a time: a secret shown for an earlier entry stops working.
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
        audit.record("core.accept_enrolment_code", user, actor=user, changes={"code": match.pk, "device": device.pk})
    return match, device


def stale_enrolment_code() -> EnrolmentCodeError:
    """The error for an enrolment in progress whose code was revoked, used or expired meanwhile."""
    return EnrolmentCodeError(
        "stale",
        _(
            "绑定码已失效，请重新输入管理员最新给您的绑定码。 / "
            "the enrolment code is no longer valid; enter the newest code your administrator gave you"
        ),
    )


def pending_enrolment(user: User, *, code_id: int, device_id: int) -> TOTPDevice | None:
    """The unconfirmed authenticator of an enrolment in progress, while its code is still live; else None."""
    now = timezone.now()
    code = EnrolmentCode.objects.filter(pk=code_id, user=user).first()
    if code is None or not _is_live(code, now):
        return None
    return TOTPDevice.objects.filter(pk=device_id, user=user, confirmed=False).first()


def confirm_enrolment(user: User, *, code_id: int, device_id: int, token: str) -> TOTPDevice | None:
    """Confirm the pending authenticator with its first 6-digit code and use the enrolment code up, together.

    Returns the confirmed device, or None for a wrong token (django_otp's throttle counts it; that count is
    kept). Raises EnrolmentCodeError when the code was revoked, used or expired in the meantime. The conditional
    update on `used_at` makes one code enrol exactly one authenticator, even with two sessions racing.
    """
    with transaction.atomic():
        _lock_user(user)
        device = pending_enrolment(user, code_id=code_id, device_id=device_id)
        if device is None:
            raise stale_enrolment_code()
        if not device.verify_token(token):
            return None
        now = timezone.now()
        if not EnrolmentCode.objects.filter(pk=code_id, used_at__isnull=True, revoked_at__isnull=True).update(
            used_at=now
        ):
            raise stale_enrolment_code()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        audit.record("core.enrol_second_factor", user, actor=user, changes={"code": code_id, "device": device.pk})
    return device


# --- API tokens -----------------------------------------------------------------------------------------------


@transaction.atomic
def issue_api_token(*, actor: User) -> Token:
    """A new API token for the actor (who has just proved who he is: password, and a second factor where his
    roles need one). Any earlier token of his dies with it."""
    require(actor, "core.use_api")
    revoked = Token.objects.filter(user=actor).delete()[0]
    token = Token.objects.create(user=actor)
    audit.record(
        "core.issue_api_token",
        actor,
        actor=actor,
        changes={"token": token_tag(token.key), "expires_at": expires_at(token).isoformat(), "replaced": revoked},
    )
    return token
