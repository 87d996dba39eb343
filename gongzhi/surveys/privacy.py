"""Surveys' part of personal data (see core.privacy): the links from a response to the person it was entered
for and to the resident's own account, and the scan of a paper form (which shows a hand and often a name).

The answers stay, tied to no one; the household link stays too: it is the one-response-per-household guarantee
and the rates' denominator, and names a unit, not a person. In a per-resident survey the frame row names the
resident: erasure unlinks it (the row stays, as the one-response guarantee and the denominator, naming the flat
only), so the answers are tied to no one there either.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q

from gongzhi.core.models import Upload
from gongzhi.core.pii import mask_name
from gongzhi.core.privacy import Subject, holds_person_data, in_batches, retains
from gongzhi.surveys.models import Response, SurveyHousehold


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


def export_frames(subject: Subject) -> list[dict]:
    """The per-resident surveys that asked this person, and whether they answered."""
    rows = SurveyHousehold.objects.filter(person=subject.person).select_related("survey").order_by("pk")
    return [{"survey": h.survey.title, "asked_as": h.label, "answered": h.taken} for h in rows]


def _unlink_frames(ids: list[int]) -> int:
    """Frame rows `ids` stop naming their resident; the label keeps the flat, not the (masked) name."""
    changed = 0
    with transaction.atomic():
        rows = SurveyHousehold.objects.select_for_update().filter(pk__in=ids, person__isnull=False)
        for h in rows.select_related("person").order_by("pk"):
            named = " " + mask_name(h.person.name)  # the label is "<flat> <masked name>" (actions._person_frame)
            flat = h.label.removesuffix(named) if h.label.endswith(named) else h.label.rsplit(" ", 1)[0]
            SurveyHousehold.objects.filter(pk=h.pk).update(person=None, label=flat)
            changed += 1
    return changed


def erase_frames(subject: Subject) -> int:
    return _unlink_frames(list(SurveyHousehold.objects.filter(person=subject.person).values_list("pk", flat=True)))


def expire_respondents(cutoff: datetime, *, dry_run: bool, batch: int) -> int:
    ids = list(
        Response.objects.filter(submitted_at__lt=cutoff)
        .filter(_identity_links())
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    # per-resident surveys closed before the cutoff: their frame rows stop naming the resident
    frames = list(
        SurveyHousehold.objects.filter(person__isnull=False, survey__closed_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if dry_run:
        return len(ids) + len(frames)
    return sum(_unlink(chunk) for chunk in in_batches(ids, batch)) + sum(
        _unlink_frames(chunk) for chunk in in_batches(frames, batch)
    )


def register() -> None:
    retains("surveys.respondent", expire_respondents)
    holds_person_data("surveys.responses", export=export_responses, erase=erase_responses)
    holds_person_data("surveys.frames", export=export_frames, erase=erase_frames)
