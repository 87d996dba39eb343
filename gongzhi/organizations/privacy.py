"""Organisations' part of a person's data (see core.privacy): memberships, and an organisation whose phone is the
person's own mobile (a small group's contact). Memberships stay (the group's history), naming a blank record."""

from __future__ import annotations

from gongzhi.core.privacy import Subject, holds_person_data
from gongzhi.organizations.models import Membership, Organization


def export_memberships(subject: Subject) -> list[dict]:
    return [
        {
            "organization": m.organization.name,
            "role": m.role,
            "party_member": m.is_party_member,
            "since": m.since.isoformat() if m.since else None,
            "until": m.until.isoformat() if m.until else None,
        }
        for m in Membership.objects.filter(person=subject.person).select_related("organization").order_by("pk")
    ]


def erase_contact_phones(subject: Subject) -> int:
    if not subject.phones:
        return 0
    return Organization.objects.filter(phone__in=subject.phones).update(phone="")


def register() -> None:
    holds_person_data("organizations.memberships", export=export_memberships, erase=erase_contact_phones)
