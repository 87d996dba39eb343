"""Deliberation's part of a person's data (see core.privacy): their opinions, objections and attendance.

These are the record of a decision (一征三议两公开) and are kept with it; the link to the registry person, whose
record erasure blanks, then identifies no one. What erasure changes here: the stage events copy the actor's
account name as it was shown, and those copies are blanked.
"""

from __future__ import annotations

from django.db.models import Q

from gongzhi.core.privacy import Subject, holds_person_data
from gongzhi.deliberation.models import Attendance, Objection, Opinion, StageEvent

ERASED_LABEL = "—"


def export_records(subject: Subject) -> list[dict]:
    person = subject.person
    rows: list[dict] = []
    for o in Opinion.objects.filter(Q(person=person) | Q(on_behalf_of=person)).select_related("matter"):
        rows.append({"record": "opinion", "matter": o.matter.title, "text": o.text, "at": o.created_at.isoformat()})
    for o in Objection.objects.filter(person=person).select_related("matter"):
        rows.append(
            {"record": "objection", "matter": o.matter.title, "text": o.reasons, "at": o.created_at.isoformat()}
        )
    for a in Attendance.objects.filter(person=person).select_related("meeting"):
        rows.append(
            {"record": "attendance", "matter": a.meeting.title, "text": a.status, "at": a.meeting.held_on.isoformat()}
        )
    return rows


def erase_labels(subject: Subject) -> int:
    if not subject.labels:
        return 0
    return StageEvent.objects.filter(actor_label__in=subject.labels).update(actor_label=ERASED_LABEL)


def register() -> None:
    holds_person_data("deliberation.records", export=export_records, erase=erase_labels)
