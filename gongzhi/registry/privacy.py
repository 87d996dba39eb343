"""The registry's part of one person's data (see core.privacy): their own record, what they own, where they live.

The person's record itself is blanked by `actions.erase_person`, last, after every part has erased its rows.
Ownerships and residences stay: they carry no personal value, only the link to the (then blank) record, and
the owners' headcount and areas of past and future votes rest on them (民法典 Art. 278).
"""

from __future__ import annotations

from gongzhi.core.privacy import Subject, holds_person_data
from gongzhi.registry.models import Ownership, Person, Residence


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def export_person(subject: Subject) -> list[dict]:
    p: Person = subject.person
    return [
        {
            "id": p.pk,
            "kind": p.kind,
            "name": p.name,
            "phone": p.phone,
            "id_number": p.get_id_number(),
            "birth_date": _iso(p.birth_date),
            "credit_code": p.credit_code,
            "sensitive_flags": p.sensitive_flags,
            "home_path": p.home_path,
            "created_at": _iso(p.created_at),
            "erased_at": _iso(p.erased_at),
        }
    ]


def export_ownerships(subject: Subject) -> list[dict]:
    return [
        {
            "unit": o.unit_id,
            "unit_number": o.unit.number,
            "compound": o.unit.compound.name,
            "share": str(o.share) if o.share is not None else None,
            "designated_voter": o.is_designated_voter,
            "since": _iso(o.since),
            "until": _iso(o.until),
        }
        for o in Ownership.objects.filter(person=subject.person).select_related("unit__compound").order_by("pk")
    ]


def export_residences(subject: Subject) -> list[dict]:
    return [
        {
            "unit": r.unit_id,
            "unit_number": r.unit.number,
            "compound": r.unit.compound.name,
            "relation": r.relation,
            "household_head": r.is_household_head,
            "since": _iso(r.since),
            "until": _iso(r.until),
        }
        for r in Residence.objects.filter(person=subject.person).select_related("unit__compound").order_by("pk")
    ]


def register() -> None:
    holds_person_data("registry.person", export=export_person)
    holds_person_data("registry.ownerships", export=export_ownerships)
    holds_person_data("registry.residences", export=export_residences)
