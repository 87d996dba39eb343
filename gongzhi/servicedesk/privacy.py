"""The service desk's part of personal data (see core.privacy): who asked, and how their account was named.

A request keeps its content, place, times, rating and events after the requester is blanked: the public board,
the time-limit figures and the rates still add up.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from gongzhi.core.privacy import Subject, holds_person_data, retains, update_in_batches
from gongzhi.servicedesk.machine import OPEN
from gongzhi.servicedesk.models import Event, ServiceRequest

REQUESTER_BLANK = {"requester_name": "", "requester_phone": "", "requester_person": None, "requester_user": None}
ERASED_LABEL = "—"


def _requests(subject: Subject):
    match = Q(requester_person=subject.person) | Q(requester_user_id__in=subject.account_ids)
    if subject.phones:
        match |= Q(requester_phone__in=subject.phones)
    return ServiceRequest.objects.filter(match)


def export_requests(subject: Subject) -> list[dict]:
    return [
        {
            "reference": r.reference,
            "status": r.status,
            "channel": r.channel,
            "description": r.description,
            "address": r.address_string,
            "requester_name": r.requester_name,
            "requester_phone": r.requester_phone,
            "accepted_at": r.accepted_at.isoformat(),
            "completed_at": r.completed_at.isoformat() if r.completed_at else None,
            "resolution": r.resolution,
            "satisfaction": r.satisfaction,
            "rating_comment": r.rating_comment,
        }
        for r in _requests(subject).order_by("pk")
    ]


def erase_requests(subject: Subject) -> int:
    changed = _requests(subject).update(**REQUESTER_BLANK)
    if subject.labels:  # the events copy the actor's name as it was shown (str(user))
        changed += Event.objects.filter(actor_label__in=subject.labels).update(actor_label=ERASED_LABEL)
    return changed


def expire_requesters(cutoff: datetime, *, dry_run: bool, batch: int) -> int:
    """Closed requests (done, rated, archived or merged) whose completion — or last change, for a merged one — is
    past the period, with a requester still on them."""
    ended = Q(completed_at__lt=cutoff) | Q(completed_at__isnull=True, updated_at__lt=cutoff)
    rows = (
        ServiceRequest.objects.exclude(status__in=[s.value for s in OPEN])
        .filter(ended)
        .filter(
            ~Q(requester_name="")
            | ~Q(requester_phone="")
            | Q(requester_person__isnull=False)
            | Q(requester_user__isnull=False)
        )
    )
    return update_in_batches(rows, REQUESTER_BLANK, dry_run=dry_run, batch=batch)


def register() -> None:
    retains("servicedesk.requester", expire_requesters)
    holds_person_data("servicedesk.requests", export=export_requests, erase=erase_requests)
