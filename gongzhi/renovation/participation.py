"""The renovation part's participation records, for the surveys' 参与率 (surveys.participation.register_source).

A household took part in a renovation project ("renovation.project:7") when it answered on the menu (点单, agreeing
or not, online or through a worker) or reported a defect of the works (its reporter's current homes). Registered
from RenovationConfig.ready(), so a satisfaction survey after the works counts those who ordered.
"""

from __future__ import annotations

from gongzhi.registry.models import Ownership, Residence
from gongzhi.renovation.models import Defect, Order

PREFIX = "renovation.project:"


def project_id(project_ref: str) -> int | None:
    if not project_ref.startswith(PREFIX):
        return None
    try:
        return int(project_ref[len(PREFIX) :])
    except ValueError:
        return None


def participating_households(project_ref: str, unit_ids) -> set[int]:
    """Units of `unit_ids` (a queryset of ids, used as a subquery) that ordered or reported a defect."""
    pk = project_id(project_ref)
    if pk is None:
        return set()
    out = set(Order.objects.filter(project_id=pk, unit_id__in=unit_ids).values_list("unit_id", flat=True).distinct())
    reporters = Defect.objects.filter(project_id=pk, source=Defect.Source.RESIDENT, reporter__isnull=False).values(
        "reporter_id"
    )
    for model in (Residence, Ownership):
        out |= set(
            model.objects.filter(person_id__in=reporters, until__isnull=True, unit_id__in=unit_ids).values_list(
                "unit_id", flat=True
            )
        )
    return out
