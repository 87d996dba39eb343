"""The counts stored on the area nodes, checked against the rows one question at a time (the tests' own arithmetic,
slow and obvious, not the code under test)."""

from __future__ import annotations

from datetime import date

from gongzhi.organizations.models import LiaisonAssignment
from gongzhi.registry import actions
from gongzhi.registry.models import AreaNode, Residence, Unit

FIELDS = actions.COUNT_FIELDS


def stored() -> dict[int, tuple[int, ...]]:
    return {pk: tuple(values) for pk, *values in AreaNode.objects.values_list("pk", *FIELDS)}


def direct(node: AreaNode, today: date) -> dict[str, int]:
    """A node's counts straight from the rows, one question at a time (the test's own, slow, arithmetic)."""
    cut60 = date(today.year - 60, today.month, min(today.day, 28))
    cut80 = date(today.year - 80, today.month, min(today.day, 28))
    units = Unit.objects.filter(path__startswith=node.path)
    living = Residence.objects.filter(unit__path__startswith=node.path, until__isnull=True)
    people = set(living.values_list("person_id", flat=True))
    return {
        "unit_count": units.count(),
        "household_count": units.filter(resident_count__gt=0).count(),
        "liaison_household_count": LiaisonAssignment.objects.filter(
            unit__path__startswith=node.path, unit__resident_count__gt=0, until__isnull=True
        )
        .values("unit")
        .distinct()
        .count(),
        "resident_count": len(people),
        "aged_60_count": len(set(living.filter(person__birth_date__lte=cut60).values_list("person_id", flat=True))),
        "aged_80_count": len(set(living.filter(person__birth_date__lte=cut80).values_list("person_id", flat=True))),
        "compound_count": AreaNode.objects.filter(path__startswith=node.path, level__is_compound=True).count(),
    }


def assert_every_node_matches_its_rows(today: date) -> None:
    for node in AreaNode.objects.all():
        want = direct(node, today)
        got = {f: getattr(node, f) for f in want}
        assert got == want, node.name
