"""Renovation's part of a person's data (see core.privacy): the orders (点单) entered for them and the defects
they reported. Both are kept with the project (its plan and acceptance rest on them); the link to the registry
person, whose record erasure blanks, then identifies no one."""

from __future__ import annotations

from gongzhi.core.privacy import Subject, holds_person_data
from gongzhi.renovation.models import Defect, Order


def export_records(subject: Subject) -> list[dict]:
    rows = [
        {"record": "order", "project": o.project.name, "text": o.item.name, "agrees": o.agrees, "channel": o.channel}
        for o in Order.objects.filter(on_behalf_of=subject.person).select_related("project", "item").order_by("pk")
    ]
    rows += [
        {"record": "defect", "project": d.project.name, "text": d.description, "agrees": None, "channel": d.source}
        for d in Defect.objects.filter(reporter=subject.person).select_related("project").order_by("pk")
    ]
    return rows


def register() -> None:
    holds_person_data("renovation.records", export=export_records)
