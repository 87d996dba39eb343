"""Personal data over time (个人信息保护法 Arts. 19, 47): how long each kind of record keeps it, the job that
enforces that, and the registry through which every part exports and erases one person's data.

Core knows no part. The periods are data, here, in one place (`PERIODS`; a deployment overrides the days with
the setting `GONGZHI_RETENTION_DAYS`, e.g. `{"bulkywaste.booking_contact": 90}`), and each part registers, in its
AppConfig.ready, the function that applies a period to its own rows (`retains`) and the functions that export
and erase one person's data from its own rows (`holds_person_data`) — as the front door is filled
(core/frontdoor.py). A period with `days=None` is kept by law or by purpose and never touched by the job; its
reason says why.

Anonymising keeps the row (figures, capacity, the public board and the audit trail still add up) and blanks the
personal columns; deleting is for rows that are nothing but personal data (one-time codes, expired sessions).
The audit log is never rewritten: it holds personal data by reference only (AuditEntry's docstring), so a
person's erasure leaves every MAC and `verify_audit` as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from gongzhi.core import audit
from gongzhi.core.models import EnrolmentCode, OutgoingSms, RoleAssignment, SmsCode, User
from gongzhi.core.sms import phone_digest


@dataclass(frozen=True)
class Period:
    kind: str  # "<app>.<what>"
    days: int | None  # None: kept (by law or purpose), never removed by the retention job
    what: str  # the personal data this kind holds
    after: str  # the moment the period counts from
    action: str  # "delete" | "anonymise" | "keep"
    reason: str


# One line per kind of record that holds personal data; `docs/PRIVACY.md` shows the same table.
PERIODS: dict[str, Period] = {
    p.kind: p
    for p in [
        Period(
            "core.sms_code",
            7,
            "phone number and a code's hash",
            "the code was sent",
            "delete",
            "a code lives minutes; a week covers a complaint about a code that never came (the limits keep their "
            "own counters, core.limits)",
        ),
        Period(
            "core.outgoing_sms",
            180,
            "a masked phone number, a keyed hash of it, the message with codes hidden",
            "a sent or failed message was created",
            "delete",
            'the message log answers "was I ever told?" and keeps the 6 months of logs 等保 asks for; after that it '
            "has no use (a message still queued or retrying is never removed)",
        ),
        Period(
            "core.session",
            0,
            "who is signed in on a browser",
            "the session expired",
            "delete",
            "an expired session has no use at all",
        ),
        Period(
            "bulkywaste.booking_contact",
            180,
            "contact name and phone, notes, the resident's link",
            "the pickup day of a finished or cancelled booking",
            "anonymise",
            "ratings, complaints and the fee's accounts are settled within a half-year; the booking itself (address "
            "of the unit, items, weights) stays for the figures",
        ),
        Period(
            "bulkywaste.dumping_reporter",
            180,
            "reporter's phone and account",
            "the report's last change, once resolved",
            "anonymise",
            "the reporter is only called back while the report is handled",
        ),
        Period(
            "servicedesk.requester",
            365,
            "requester's name, phone, person and account",
            "completion of a closed request",
            "anonymise",
            "follow-up calls, ratings, objections and the yearly 12345 review reach back a year; the request's "
            "content, place and times stay for the board and the figures",
        ),
        Period(
            "surveys.respondent",
            365,
            "the link from a response to the person it was entered for, the resident's "
            "own account, the paper form's scan",
            "the response was submitted (a per-resident survey's frame row: the survey closed)",
            "anonymise",
            "a year covers the review of staff-entered responses and a recount of the rates; the answers stay, no "
            "longer tied to anyone (the household link stays: it is the one-per-household guarantee; a "
            "per-resident survey's row keeps the flat, not the resident)",
        ),
        Period(
            "core.audit_log",
            None,
            "account labels and person ids by reference",
            "—",
            "keep",
            "网络安全法 Art. 21 (now 23): logs ≥ 6 months; the hash chain cannot be cut; it refers to people by id "
            "and names a resident's account by its id only (core.audit.actor_label)",
        ),
        Period(
            "voting.ballots",
            None,
            "who voted, how, the proxy's name, paper ballots' scans",
            "—",
            "keep",
            "民法典 Art. 278 and the SPC interpretation: the owners' decision must be provable and challengeable "
            "(Art. 280: within one year of knowing); the ballot log is a hash chain",
        ),
        Period(
            "registry.person",
            None,
            "name, phone, ID number, birth date, sensitive flags",
            "—",
            "keep",
            "the roster is the legal duty itself (居委会 duties, PIPL Art. 13(3)); a person's data goes by erasure "
            "(erase_person) when they leave or ask, not by age",
        ),
        Period(
            "core.uploads",
            None,
            "photos of items, places and works; proxy forms and paper ballots' scans",
            "—",
            "keep",
            "kept with the record they prove (a pickup, a defect, a ballot); location metadata is stripped on upload; "
            "survey scans go with the survey link above",
        ),
        Period(
            "deliberation.records",
            None,
            "opinions, attendance, objections of named owners",
            "—",
            "keep",
            "the 一征三议两公开 record of a decision is kept with the decision it supports",
        ),
    ]
}


def days_for(kind: str) -> int | None:
    """The period in days for `kind`, with the deployment's override (`GONGZHI_RETENTION_DAYS`)."""
    overrides = getattr(settings, "GONGZHI_RETENTION_DAYS", {}) or {}
    if kind in overrides:
        value = overrides[kind]
        return None if value is None else int(value)
    return PERIODS[kind].days


# --- the retention job ---------------------------------------------------------------------------------------------

# fn(cutoff, *, dry_run, batch) -> number of rows removed or anonymised (or that would be, on a dry run)
Rule = Callable[..., int]
_RULES: dict[str, Rule] = {}


def retains(kind: str, fn: Rule) -> Rule:
    """Register the function that applies `kind`'s period (idempotent: a second ready() replaces it)."""
    if kind not in PERIODS:
        raise KeyError(f"no retention period for {kind!r}: add it to core.privacy.PERIODS")
    _RULES[kind] = fn
    return fn


def rules() -> dict[str, Rule]:
    return dict(_RULES)


def in_batches(ids: list, batch: int) -> list[list]:
    return [ids[i : i + batch] for i in range(0, len(ids), batch)]


def apply_retention(*, now: datetime | None = None, dry_run: bool = False, batch: int = 500) -> dict[str, int]:
    """Apply every registered period. Each rule works in batches, each batch its own transaction, and selects only
    rows that still hold personal data, so a second run (or one on another machine) finds nothing to do. One audit
    entry names the counts per kind (never a personal value); a dry run writes nothing at all."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    cutoffs: dict[str, str] = {}
    for kind, fn in sorted(_RULES.items()):
        days = days_for(kind)
        if days is None:
            continue
        cutoff = now - timedelta(days=days)
        counts[kind] = fn(cutoff, dry_run=dry_run, batch=batch)
        cutoffs[kind] = cutoff.isoformat()
    if not dry_run:
        with transaction.atomic():
            audit.record(
                "privacy.apply_retention",
                ("core.retention", now.date().isoformat()),
                actor=None,
                changes={"counts": counts, "cutoffs": cutoffs},
            )
    return counts


# --- one person's data: export and erase ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """Whose data: the registry's person, the accounts that sign in as them, and every phone number they used
    (bookings and requests copy a phone without always linking the person)."""

    person: object  # registry.Person (core does not import the registry)
    account_ids: tuple[int, ...]
    phones: tuple[str, ...]
    labels: tuple[str, ...] = ()  # how those accounts were named in records that copy a label (str(user))


Exporter = Callable[[Subject], list[dict]]
Eraser = Callable[[Subject], int]


@dataclass(frozen=True)
class Holder:
    section: str
    export: Exporter
    erase: Eraser | None  # None: the part keeps its rows (by law) and the person's own record is what identifies


_HOLDERS: dict[str, Holder] = {}


def holds_person_data(section: str, *, export: Exporter, erase: Eraser | None = None) -> None:
    """A part declares what it holds about a person: `export(subject)` gives its rows as plain JSON-able dicts,
    `erase(subject)` blanks or unlinks them and returns how many rows it changed. Called in AppConfig.ready."""
    _HOLDERS[section] = Holder(section, export, erase)


def holders() -> list[Holder]:
    return [_HOLDERS[k] for k in sorted(_HOLDERS)]


def export_subject(subject: Subject) -> dict[str, list[dict]]:
    return {h.section: h.export(subject) for h in holders()}


def erase_subject(subject: Subject) -> dict[str, int]:
    """Run every part's eraser (inside the caller's transaction); the counts per section."""
    return {h.section: h.erase(subject) for h in holders() if h.erase is not None}


def update_in_batches(queryset, values: dict, *, dry_run: bool, batch: int) -> int:
    """Set `values` on every row of `queryset` (which must select only rows still holding personal data, so a
    second run finds none), `batch` rows per transaction; on a dry run only count them."""
    ids = list(queryset.order_by("pk").values_list("pk", flat=True))
    if dry_run:
        return len(ids)
    done = 0
    for chunk in in_batches(ids, batch):
        with transaction.atomic():
            done += queryset.model.objects.filter(pk__in=chunk).update(**values)
    return done


# --- core's own records: one-time codes, sessions, accounts ---------------------------------------------------------


def _delete_in_batches(queryset, *, dry_run: bool, batch: int) -> int:
    ids = list(queryset.values_list("pk", flat=True))
    if dry_run:
        return len(ids)
    done = 0
    for chunk in in_batches(ids, batch):
        with transaction.atomic():
            done += queryset.model.objects.filter(pk__in=chunk).delete()[0]
    return done


def _expire_sms_codes(cutoff: datetime, *, dry_run: bool, batch: int) -> int:
    return _delete_in_batches(SmsCode.objects.filter(created_at__lt=cutoff), dry_run=dry_run, batch=batch)


def _expire_outgoing_sms(cutoff: datetime, *, dry_run: bool, batch: int) -> int:
    done = OutgoingSms.objects.filter(
        created_at__lt=cutoff, status__in=[OutgoingSms.Status.SENT, OutgoingSms.Status.FAILED]
    )
    return _delete_in_batches(done, dry_run=dry_run, batch=batch)


def _expire_sessions(cutoff: datetime, *, dry_run: bool, batch: int) -> int:
    if "django.contrib.sessions" not in settings.INSTALLED_APPS:
        return 0
    from django.contrib.sessions.models import Session  # here: an optional app

    return _delete_in_batches(Session.objects.filter(expire_date__lt=cutoff), dry_run=dry_run, batch=batch)


def _export_accounts(subject: Subject) -> list[dict]:
    roles: dict[int, list[str]] = {}
    for user_id, role, node_id in RoleAssignment.objects.filter(user_id__in=subject.account_ids).values_list(
        "user_id", "role", "node_id"
    ):
        roles.setdefault(user_id, []).append(f"{role}@{node_id}")
    return [
        {
            "id": u.pk,
            "username": u.username,
            "display_name": u.display_name,
            "first_name": u.first_name,
            "last_name": u.last_name,
            "email": u.email,
            "phone": u.phone,
            "active": u.is_active,
            "joined": u.date_joined.isoformat(),
            "last_login": u.last_login.isoformat() if u.last_login else None,
            "roles": roles.get(u.pk, []),
        }
        for u in User.objects.filter(pk__in=subject.account_ids).order_by("pk")
    ]


def _erase_accounts(subject: Subject) -> int:
    """Accounts that signed in as the person: renamed, blanked, shut and unable to sign in again; their one-time
    codes and authenticators deleted. The rows stay (audit entries and records point at them by id)."""
    changed = 0
    for user in User.objects.filter(pk__in=subject.account_ids):
        user.username = f"erased-{user.pk}"
        user.display_name = user.first_name = user.last_name = user.email = user.phone = ""
        user.is_active = False
        user.set_unusable_password()
        user.save()
        changed += 1
    RoleAssignment.objects.filter(user_id__in=subject.account_ids).delete()
    EnrolmentCode.objects.filter(user_id__in=subject.account_ids).delete()
    if "django_otp.plugins.otp_totp" in settings.INSTALLED_APPS:
        from django_otp.plugins.otp_totp.models import TOTPDevice  # here: an optional app

        TOTPDevice.objects.filter(user_id__in=subject.account_ids).delete()
    if subject.phones:
        SmsCode.objects.filter(phone__in=subject.phones).delete()
        OutgoingSms.objects.filter(phone_digest__in=[phone_digest(p) for p in subject.phones]).delete()
    return changed


def register_core() -> None:
    """core's own periods and its part of a person's data (called from CoreConfig.ready)."""
    retains("core.sms_code", _expire_sms_codes)
    retains("core.outgoing_sms", _expire_outgoing_sms)
    retains("core.session", _expire_sessions)
    holds_person_data("core.accounts", export=_export_accounts, erase=_erase_accounts)
