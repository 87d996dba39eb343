"""Publishing, changing and withdrawing notices (permission, transaction, audit; the PDF after commit)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from gongzhi.core import audit
from gongzhi.core.calendar import calendar_from
from gongzhi.core.errors import BilingualValidationError
from gongzhi.core.gate import require
from gongzhi.core.models import User
from gongzhi.notices.models import Notice
from gongzhi.notices.periods import (
    ASSEMBLY_NOTICE_DAYS,
    Period,
    assembly_notice_in_time,
    earliest_assembly_day,
    notice_period,
)
from gongzhi.notices.tasks import schedule_pdf
from gongzhi.organizations.models import Organization
from gongzhi.registry.models import AreaNode

DEFAULT_DAYS: dict[str, int] = {
    Notice.Kind.VOTER_ROLL: 7,
    Notice.Kind.RESOLUTION: 7,
    Notice.Kind.RESULT: 7,
    Notice.Kind.ACCOUNTS: 7,
    Notice.Kind.ASSEMBLY: ASSEMBLY_NOTICE_DAYS,
    Notice.Kind.OTHER: 7,
}


class NoticeError(BilingualValidationError):
    """A refused notice, in Chinese and English, naming the field."""


def _clean(value: str, field: str, zh: str, en: str, max_len: int) -> str:
    value = (value or "").strip()
    if not value:
        raise NoticeError(f"{zh}不能为空", f"{en} is required", field, "required")
    if len(value) > max_len:
        raise NoticeError(f"{zh}不能超过{max_len}字", f"{en} is longer than {max_len} characters", field, "max_length")
    return value


def issuer_for(node: AreaNode, kinds: Iterable[str] = ("residents_committee",)) -> str:
    """The issuing body: the nearest organisation of `kinds` covering the node, else the node's name."""
    parts = [p for p in node.path.strip("/").split("/") if p]
    prefixes = ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
    org = (
        Organization.objects.filter(path__in=prefixes, kind__code__in=kinds, dissolved__isnull=True)
        .order_by("-path")
        .only("name")
        .first()
    )
    return org.name if org else node.name


def publish_notice(
    *,
    actor: User | None,
    kind: str,
    title: str,
    body: str,
    node: AreaNode,
    days: int | None = None,
    tables: list | None = None,
    matter: Model | None = None,  # a deliberation.Matter (notices imports no other part)
    vote_id: int | None = None,
    issuer: str = "",
    posted_on: date | None = None,
    meeting_on: date | None = None,
    published_by: User | None = None,
) -> Notice:
    """Post a notice today (or on `posted_on`).

    `actor` must hold notices.publish_notice over `node`, or be None: the system posting a notice that another
    part's action publishes by rule (deliberation's stage notices, after its own permission check and audit
    entry); `published_by` then names the person whose action it was, for the notice's record.
    """
    with transaction.atomic():
        require(actor, "notices.publish_notice", node)
        if kind not in Notice.Kind.values:
            raise NoticeError("公示类型不正确", "unknown notice kind", "kind")
        title = _clean(title, "title", "标题", "title", 200)
        body = _clean(body, "body", "正文", "body", 50000)
        posted_on = posted_on or timezone.localdate()
        days = days or DEFAULT_DAYS[kind]
        if days < 1 or days > 365:
            raise NoticeError("公示期应为1至365日", "the notice period must be 1 to 365 days", "days")
        if kind == Notice.Kind.ASSEMBLY:
            if meeting_on is None:
                raise NoticeError(
                    "会议公告须写明会议日期", "an assembly notice needs the meeting date", "meeting_on", "required"
                )
            if not assembly_notice_in_time(posted_on, meeting_on):
                earliest = earliest_assembly_day(posted_on)
                raise NoticeError(
                    f"业主大会应于会议召开15日以前通知全体业主（物业管理条例第十四条）：今天公告，会议最早定于{earliest.isoformat()}",
                    f"owners must be notified 15 days before the assembly (Property Management Regulations Art. 14): "
                    f"posted today, the meeting can be on {earliest.isoformat()} at the earliest",
                    "meeting_on",
                    "too_soon",
                )
            days = (meeting_on - posted_on).days
            # The notice runs until the meeting itself (not moved: the meeting date is fixed).
            period = Period(posted_on, posted_on + timedelta(days=1), meeting_on, days)
        else:
            period = notice_period(posted_on, days, calendar_from(posted_on))
        notice = Notice.objects.create(
            kind=kind,
            title=title,
            body=body,
            tables=tables or [],
            node=node,
            path=node.path,
            matter=matter,
            vote_id=vote_id,
            issuer=(issuer or issuer_for(node))[:150],
            posted_on=posted_on,
            period_days=days,
            period_start=period.start,
            period_end=period.end,
            meeting_on=meeting_on,
            published_by=actor if getattr(actor, "pk", None) else published_by,
        )
        audit.record(
            "notices.publish",
            notice,
            actor=actor,
            changes={
                "kind": kind,
                "title": title,
                "node": node.pk,
                "matter": getattr(matter, "pk", None),
                "vote": vote_id,
                "period": [period.start, period.end],
                "meeting_on": meeting_on,
            },
        )
        schedule_pdf(notice)
        return notice


@transaction.atomic
def update_notice(notice: Notice, *, actor: User | None, title: str | None = None, body: str | None = None) -> Notice:
    """Correct a notice's text; the period is not restarted, the PDF is regenerated."""
    notice = Notice.objects.select_for_update(of=("self",)).get(pk=notice.pk)
    require(actor, "notices.change_notice", notice)
    before = {"title": notice.title, "body": notice.body}
    if title is not None:
        notice.title = _clean(title, "title", "标题", "title", 200)
    if body is not None:
        notice.body = _clean(body, "body", "正文", "body", 50000)
    notice.save()
    audit.record(
        "notices.update", notice, actor=actor, changes=audit.diff(before, {"title": notice.title, "body": notice.body})
    )
    schedule_pdf(notice)
    return notice


@transaction.atomic
def withdraw_notice(notice: Notice, *, actor: User | None, reason: str) -> Notice:
    notice = Notice.objects.select_for_update(of=("self",)).get(pk=notice.pk)
    require(actor, "notices.change_notice", notice)
    reason = _clean(reason, "reason", "撤回理由", "reason", 500)
    notice.status = Notice.Status.WITHDRAWN
    notice.save()
    audit.record("notices.withdraw", notice, actor=actor, changes={"reason": reason})
    schedule_pdf(notice)
    return notice
