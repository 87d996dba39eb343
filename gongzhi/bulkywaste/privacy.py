"""Bulky waste's part of personal data (see core.privacy): bookings' contacts and dumping reports' reporters.

A booking keeps its unit's address, items, weights and fee after its contact is blanked: the figures, the day's
capacity and the accounts still add up, and the address is the unit's, not the person's once nobody is named.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from gongzhi.bulkywaste.models import Booking, DumpingReport
from gongzhi.core.privacy import Subject, holds_person_data, retains, update_in_batches

BOOKING_BLANK = {"contact_name": "", "contact_phone": "", "notes": "", "on_behalf_of": None, "rating_token": ""}
REPORTER_BLANK = {"reporter_phone": "", "reporter": None}


def _bookings(subject: Subject):
    match = Q(on_behalf_of=subject.person) | Q(booked_by_id__in=subject.account_ids)
    if subject.phones:
        match |= Q(contact_phone__in=subject.phones)
    return Booking.objects.filter(match)


def _reports(subject: Subject):
    match = Q(reporter_id__in=subject.account_ids)
    if subject.phones:
        match |= Q(reporter_phone__in=subject.phones)
    return DumpingReport.objects.filter(match)


def export_bookings(subject: Subject) -> list[dict]:
    return [
        {
            "reference": b.reference,
            "status": b.status,
            "day": b.day.isoformat(),
            "window": b.window_label,
            "address": b.address,
            "contact_name": b.contact_name,
            "contact_phone": b.contact_phone,
            "notes": b.notes,
            "channel": b.channel,
            "fee": str(b.fee),
            "created_at": b.created_at.isoformat(),
        }
        for b in _bookings(subject).order_by("pk")
    ]


def erase_bookings(subject: Subject) -> int:
    return _bookings(subject).update(**BOOKING_BLANK)


def export_reports(subject: Subject) -> list[dict]:
    return [
        {
            "reference": r.reference,
            "status": r.status,
            "description": r.description,
            "address": r.address,
            "reporter_phone": r.reporter_phone,
            "created_at": r.created_at.isoformat(),
        }
        for r in _reports(subject).order_by("pk")
    ]


def erase_reports(subject: Subject) -> int:
    return _reports(subject).update(**REPORTER_BLANK)


def expire_booking_contacts(cutoff: datetime, *, dry_run: bool, batch: int) -> int:
    """Finished or cancelled bookings whose pickup day is past the period, with a contact still on them."""
    done = (*Booking.FINISHED, Booking.Status.CANCELLED)
    rows = Booking.objects.filter(status__in=done, day__lt=cutoff.date()).filter(
        ~Q(contact_name="") | ~Q(contact_phone="") | ~Q(notes="") | Q(on_behalf_of__isnull=False)
    )
    return update_in_batches(rows, BOOKING_BLANK, dry_run=dry_run, batch=batch)


def expire_dumping_reporters(cutoff: datetime, *, dry_run: bool, batch: int) -> int:
    rows = DumpingReport.objects.filter(status=DumpingReport.Status.RESOLVED, updated_at__lt=cutoff).filter(
        ~Q(reporter_phone="") | Q(reporter__isnull=False)
    )
    # .update() leaves updated_at (auto_now) as it was: the report's last real change
    return update_in_batches(rows, REPORTER_BLANK, dry_run=dry_run, batch=batch)


def register() -> None:
    retains("bulkywaste.booking_contact", expire_booking_contacts)
    retains("bulkywaste.dumping_reporter", expire_dumping_reporters)
    holds_person_data("bulkywaste.bookings", export=export_bookings, erase=erase_bookings)
    holds_person_data("bulkywaste.dumping_reports", export=export_reports, erase=erase_reports)
