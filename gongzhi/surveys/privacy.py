"""Surveys' part of personal data (see core.privacy): the links from a response to the person it was entered
for and to the resident's own account, and the scan of a paper form (which shows a hand and often a name).

The answers stay, tied to no one; the household link stays too: it is the one-response-per-household guarantee
and the rates' denominator, and names a unit, not a person.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q

from gongzhi.core.models import Upload
from gongzhi.core.privacy import Subject, holds_person_data, in_batches, retains
from gongzhi.surveys.models import Response


def _identity_links():
    return (
        Q(on_behalf_of__isnull=False)
        | Q(channel=Response.Channel.ONLINE, entered_by__isnull=False)
        | Q(scan__isnull=False)
    )


def _unlink(ids: list[int]) -> int:
    """Unlink the responses `ids` from people and accounts and delete their scans (one transaction)."""
    with transaction.atomic():
        rows = Response.objects.filter(pk__in=ids)
        scans = list(rows.filter(scan__isnull=False).values_list("scan_id", flat=True))
        changed = rows.update(on_behalf_of=None, scan=None)
        rows.filter(channel=Response.Channel.ONLINE).update(entered_by=None)
        for upload in Upload.objects.filter(pk__in=scans):
            upload.file.delete(save=False)
            upload.delete()
    return changed


def _responses(subject: Subject):
    mine_online = Q(channel=Response.Channel.ONLINE, entered_by_id__in=subject.account_ids)
    return Response.objects.filter(Q(on_behalf_of=subject.person) | mine_online)


def export_responses(subject: Subject) -> list[dict]:
    return [
        {
            "survey": r.survey.title,
            "channel": r.channel,
            "submitted_at": r.submitted_at.isoformat(),
            "answers": r.answers,
            "has_scan": r.scan_id is not None,
        }
        for r in _responses(subject).select_related("survey").order_by("pk")
    ]


def erase_responses(subject: Subject) -> int:
    return _unlink(list(_responses(subject).values_list("pk", flat=True)))


def expire_respondents(cutoff: datetime, *, dry_run: bool, batch: int) -> int:
    ids = list(
        Response.objects.filter(submitted_at__lt=cutoff)
        .filter(_identity_links())
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if dry_run:
        return len(ids)
    return sum(_unlink(chunk) for chunk in in_batches(ids, batch))


def register() -> None:
    retains("surveys.respondent", expire_respondents)
    holds_person_data("surveys.responses", export=export_responses, erase=erase_responses)
