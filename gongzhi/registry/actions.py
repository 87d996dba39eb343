"""Every change to the registry goes through these functions: permission, transaction, audit entry.

Bulk paths (the roster import, the demo loader, the city-scale generator) call the same functions or the
`_bulk` helpers below, which write one audit entry per batch naming every row by id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from gongzhi.core import audit, pii, privacy
from gongzhi.core.gate import require
from gongzhi.core.models import User
from gongzhi.organizations.models import LiaisonAssignment
from gongzhi.registry.models import AreaLevel, AreaNode, CompoundProfile, Ownership, Person, Residence, Unit, UnitSet

PERSONAL_FIELDS = frozenset({"name", "phone", "id_number", "birth_date", "sensitive_flags"})


def _check_parent_scope(actor: User | None, parent: AreaNode | None) -> None:
    if parent is None:
        if actor is not None and not actor.is_superuser:
            raise PermissionDenied("only a superuser creates a top-level area")
    else:
        require(actor, "registry.add_areanode", parent)


@transaction.atomic
def create_area_node(
    *,
    actor: User | None,
    parent: AreaNode | None,
    level: AreaLevel,
    name: str,
    code: str = "",
    address: str = "",
    profile: dict | None = None,
) -> AreaNode:
    _check_parent_scope(actor, parent)
    node = AreaNode.objects.create(parent=parent, level=level, name=name, code=code, address=address, path="")
    node.path = f"{parent.path if parent else '/'}{node.pk}/"
    node.depth = (parent.depth + 1) if parent else 0
    node.compound_count = 1 if level.is_compound else 0
    node.save(update_fields=["path", "depth", "compound_count"])
    if level.is_compound and parent is not None:  # one compound more in every node above (locked deepest first)
        above = list(
            AreaNode.objects.select_for_update(of=("self",))
            .filter(pk__in=parent.ids_on_path)
            .order_by("-depth", "pk")
            .values_list("pk", flat=True)
        )
        AreaNode.objects.filter(pk__in=above).update(compound_count=F("compound_count") + 1)
    if profile is not None:
        CompoundProfile.objects.create(node=node, **profile)
    audit.record(
        "registry.create_area_node",
        node,
        actor=actor,
        changes={"name": name, "level": level.code, "parent": parent.pk if parent else None, "profile": profile or {}},
    )
    return node


@transaction.atomic
def update_compound_profile(profile: CompoundProfile, *, actor: User | None, **fields: Any) -> CompoundProfile:
    require(actor, "registry.change_areanode", profile.node)
    before = {k: getattr(profile, k) for k in fields}
    for k, v in fields.items():
        setattr(profile, k, v)
    profile.full_clean()
    profile.save()
    audit.record("registry.update_compound_profile", profile.node, actor=actor, changes=audit.diff(before, fields))
    return profile


def compound_of(node: AreaNode) -> AreaNode:
    """The compound (楼院 level, or the nearest ancestor at a compound level) a building or entrance is in."""
    compound_levels = set(AreaLevel.objects.filter(is_compound=True).values_list("pk", flat=True))
    ids = node.ids_on_path
    for candidate in AreaNode.objects.filter(pk__in=ids, level_id__in=compound_levels).order_by("-depth")[:1]:
        return candidate
    raise ValueError(f"{node} is not inside a compound")


@transaction.atomic
def create_unit(
    *, actor: User | None, node: AreaNode, number: str, compound: AreaNode | None = None, **fields: Any
) -> Unit:
    require(actor, "registry.change_unit", node)
    unit = Unit(node=node, compound=compound or compound_of(node), path=node.path, number=number, **fields)
    unit.full_clean()
    unit.save()
    refresh_unit_counts([unit.path])
    audit.record("registry.create_unit", unit, actor=actor, changes={"number": number, "node": node.pk, **fields})
    return unit


@transaction.atomic
def create_person(
    *,
    actor: User | None,
    name: str,
    kind: str = Person.Kind.NATURAL,
    phone: str = "",
    id_number: str = "",
    birth_date: date | None = None,
    home_path: str = "",
    on_behalf_of: Person | None = None,
    **fields: Any,
) -> Person:
    if home_path:
        require(actor, "registry.change_person", AreaNode(path=home_path))
    person = Person(kind=kind, name=name, birth_date=birth_date, home_path=home_path, **fields)
    if phone:
        person.phone = pii.normalize_phone(phone)
    if id_number:
        person.set_id_number(id_number)
    person.save()
    audit.record(
        "registry.create_person",
        person,
        actor=actor,
        on_behalf_of=on_behalf_of,
        changes={k: audit.PERSONAL for k in ("name", "phone", "id_number", "birth_date") if locals().get(k)}
        | {"kind": kind},
    )
    return person


@transaction.atomic
def update_person(person: Person, *, actor: User | None, on_behalf_of: Person | None = None, **fields: Any) -> Person:
    require(actor, "registry.change_person", person)
    before = {k: getattr(person, k, None) for k in fields if k != "id_number"}
    for key, value in fields.items():
        if key == "phone":
            person.phone = pii.normalize_phone(value) if value else ""
        elif key == "id_number":
            person.set_id_number(value)
        else:
            setattr(person, key, value)
    person.save()
    if "birth_date" in fields and before["birth_date"] != person.birth_date:
        refresh_unit_counts(_residence_paths(person))  # the elderly counts where they live
    after = {k: getattr(person, k, None) for k in fields if k != "id_number"}
    changes = audit.diff(before, after, PERSONAL_FIELDS)
    if "id_number" in fields:
        changes["id_number"] = audit.PERSONAL
    audit.record("registry.update_person", person, actor=actor, on_behalf_of=on_behalf_of, changes=changes)
    return person


def person_subject(person: Person) -> privacy.Subject:
    """The person, the accounts that sign in as them and every phone number they used, for the parts' exporters
    and erasers (core.privacy)."""
    accounts = list(get_user_model().objects.filter(person=person))
    phones = sorted({person.phone, *(a.phone for a in accounts)} - {""})
    return privacy.Subject(
        person=person,
        account_ids=tuple(a.pk for a in accounts),
        phones=tuple(phones),
        labels=tuple(sorted({str(a) for a in accounts} - {""})),
    )


@transaction.atomic
def export_person_data(person: Person, *, actor: User, channel: str = "web") -> dict:
    """Everything the platform holds about one person, section by section (PIPL Art. 45: a copy of one's own data).

    Audited like every showing of unmasked personal data; the entry names the sections, never a value."""
    require(actor, "registry.export_person_data", person)
    data = privacy.export_subject(person_subject(person))
    audit.record(
        "registry.export_person_data",
        person,
        actor=actor,
        channel=channel,
        changes={"sections": {section: len(rows) for section, rows in data.items()}},
    )
    return {"person": person.pk, "exported_at": timezone.now().isoformat(), "sections": data}


ERASE_REASON_MAX = 300


@transaction.atomic
def erase_person(person: Person, *, actor: User, reason: str) -> dict[str, int]:
    """删除个人信息 (PIPL Art. 47): blank the person's personal fields and their personal data in every part.

    Each part's eraser (registered through core.privacy) blanks or unlinks its own rows first; then the person's
    record loses its name, phone, ID number (ciphertext and look-up hash), birth date, credit code and sensitive
    flags, and `erased_at` is set. The record itself stays as a blank stub: ownerships, residences, roll entries and
    ballots the law keeps point at it and so identify nobody. The audit log is not touched (it holds personal data
    by reference only), so every chain still verifies; the entry written here names the counts and the reason.
    """
    require(actor, "registry.erase_person", person)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": [ValidationError("请填写删除理由 / give the reason for erasing", code="required")]}
        )
    if len(reason) > ERASE_REASON_MAX:
        raise ValidationError(
            {"reason": [ValidationError(f"删除理由不超过{ERASE_REASON_MAX}字 / at most {ERASE_REASON_MAX} characters")]}
        )
    if person.kind != Person.Kind.NATURAL:
        raise ValidationError("单位的信息不是个人信息，不能按个人删除 / a legal person's record is not personal data")
    person = Person.objects.select_for_update(of=("self",)).get(pk=person.pk)  # two erasures at once: one wins
    if person.erased_at is not None:
        raise ValidationError("此人的个人信息已删除 / this person's data was already erased", code="erased")
    counts = privacy.erase_subject(person_subject(person))
    person.name = ""
    person.phone = ""
    person.id_number_enc = ""
    person.id_number_hash = ""
    person.birth_date = None
    person.credit_code = ""
    person.sensitive_flags = {}
    person.erased_at = timezone.now()
    person.save()
    refresh_unit_counts(_residence_paths(person))  # still a resident, of no known age
    counts["registry.person"] = 1
    audit.record("registry.erase_person", person, actor=actor, changes={"reason": reason, "counts": counts})
    return counts


@transaction.atomic
def add_ownership(
    *,
    actor: User | None,
    unit: Unit,
    person: Person,
    designated_voter: bool = False,
    developer_status: str = "",
    share: Decimal | None = None,
    since: date | None = None,
) -> Ownership:
    require(actor, "registry.change_unit", unit)
    if designated_voter:
        Ownership.objects.filter(unit=unit, until__isnull=True, is_designated_voter=True).update(
            is_designated_voter=False
        )
    ownership = Ownership.objects.create(
        unit=unit,
        person=person,
        is_designated_voter=designated_voter,
        developer_status=developer_status,
        share=share,
        since=since,
    )
    if not person.home_path:
        Person.objects.filter(pk=person.pk).update(home_path=unit.path)
    audit.record(
        "registry.add_ownership",
        unit,
        actor=actor,
        changes={"person": person.pk, "designated_voter": designated_voter, "developer_status": developer_status},
    )
    return ownership


@transaction.atomic
def add_residence(
    *, actor: User | None, unit: Unit, person: Person, relation: str, household_head: bool = False
) -> Residence:
    require(actor, "registry.change_unit", unit)
    residence = Residence.objects.create(unit=unit, person=person, relation=relation, is_household_head=household_head)
    Unit.objects.filter(pk=unit.pk).update(resident_count=unit.residences.filter(until__isnull=True).count())
    if not person.home_path or relation != Residence.Relation.OWNER:
        Person.objects.filter(pk=person.pk).update(home_path=unit.path)
    refresh_unit_counts([unit.path])
    audit.record("registry.add_residence", unit, actor=actor, changes={"person": person.pk, "relation": relation})
    return residence


@transaction.atomic
def end_residence(residence: Residence, *, actor: User | None, until: date | None = None) -> None:
    require(actor, "registry.change_unit", residence.unit)
    residence.until = until or timezone.localdate()
    residence.save(update_fields=["until"])
    unit = residence.unit
    Unit.objects.filter(pk=unit.pk).update(resident_count=unit.residences.filter(until__isnull=True).count())
    refresh_unit_counts([unit.path])
    audit.record("registry.end_residence", unit, actor=actor, changes={"person": residence.person_id})


@transaction.atomic
def create_unit_set(
    *,
    actor: User | None,
    name: str,
    kind: str,
    scope: AreaNode,
    nodes: Iterable[AreaNode] = (),
    units: Iterable[Unit] = (),
    description: str = "",
) -> UnitSet:
    require(actor, "registry.change_unitset", scope)
    nodes, units = list(nodes), list(units)
    for n in nodes:
        if not n.path.startswith(scope.path):
            raise ValueError(f"{n} lies outside {scope}")
    for u in units:
        if not u.path.startswith(scope.path):
            raise ValueError(f"unit {u} lies outside {scope}")
    unit_set = UnitSet.objects.create(name=name, kind=kind, scope=scope, description=description)
    unit_set.nodes.set(nodes)
    unit_set.units.set(units)
    audit.record(
        "registry.create_unit_set",
        unit_set,
        actor=actor,
        changes={"name": name, "kind": kind, "nodes": [n.pk for n in nodes], "units": [u.pk for u in units]},
    )
    return unit_set


def resolve_unit_set(unit_set: UnitSet) -> QuerySet[Unit]:
    """All units of a set: those under its nodes plus those listed, as one queryset."""
    q = Q(pk__in=unit_set.units.values("pk"))
    for path in unit_set.nodes.values_list("path", flat=True):
        q |= Q(path__startswith=path)
    return Unit.objects.filter(q)


# --- stored counts -----------------------------------------------------------------------------------------
# Lock order: every writer of the stored counts locks AreaNode rows deepest first, then by id (-depth, pk), and
# counts only once it holds them, so a count sees every commit made before its lock was granted (no lost update)
# and two writers never wait on each other in a cycle. SQLite has no row locks; its IMMEDIATE transactions run
# writers one at a time.

COUNT_FIELDS = (
    "unit_count",
    "household_count",
    "liaison_household_count",
    "resident_count",
    "aged_60_count",
    "aged_80_count",
    "compound_count",
)


def _unit_figures(prefixes: Iterable[str]) -> dict[str, tuple[int, int, int]]:
    """(units, households, households with a current liaison) per unit path, for the units under `prefixes`.

    One grouped query. A unit's path is its building's or entrance's, so a node's figures are the sums over the
    unit paths starting with the node's path. A household is a unit with a current resident; it has a liaison
    when a current (until IS NULL) LiaisonAssignment points at it.
    """
    q = Q()
    for prefix in prefixes:
        q |= Q(path__startswith=prefix)
    rows = (
        Unit.objects.filter(q)
        .annotate(liaised=Exists(LiaisonAssignment.objects.filter(unit_id=OuterRef("pk"), until__isnull=True)))
        .order_by()
        .values("path")
        .annotate(
            n=Count("pk"),
            h=Count("pk", filter=Q(resident_count__gt=0)),
            lh=Count("pk", filter=Q(resident_count__gt=0, liaised=True)),
        )
    )
    return {r["path"]: (r["n"], r["h"], r["lh"]) for r in rows}


def _sum_under(figures: dict[str, tuple[int, int, int]], path: str) -> tuple[int, int, int]:
    units = households = liaised = 0
    for unit_path, (n, h, lh) in figures.items():
        if unit_path.startswith(path):
            units, households, liaised = units + n, households + h, liaised + lh
    return units, households, liaised


def refresh_household_counts(compound_ids: Iterable[int]) -> None:
    """Recount the households, and those with a current liaison, of these compounds (and of their buildings and
    entrances), and sum each ancestor again from its children.

    Called by every action that starts or ends liaison assignments, inside its transaction. The compounds are
    recounted, not adjusted, after their rows are locked: the result is right whatever else committed meanwhile
    (a racing assignment, a roster import), and a compound that had drifted is corrected on its next change, as
    are its ancestors (`_resum`, under the same locks). Costs three queries (paths, lock, one grouped count over
    the units of these compounds only), one UPDATE per changed node of the compounds, and one sum and one UPDATE
    per ancestor.
    """
    ids = sorted({pk for pk in compound_ids if pk})
    if not ids:
        return
    with transaction.atomic(savepoint=False):
        paths = sorted(AreaNode.objects.filter(pk__in=ids).values_list("path", flat=True))
        roots = [p for p in paths if not any(p != o and p.startswith(o) for o in paths)]  # nested compounds once
        above = {int(a) for p in roots for a in p.strip("/").split("/")[:-1]}
        inside = Q()
        for root in roots:
            inside |= Q(path__startswith=root)
        nodes = list(
            AreaNode.objects.select_for_update(of=("self",))
            .filter(inside | Q(pk__in=above))
            .select_related("level")
            .order_by("-depth", "pk")
            .only("pk", "path", "depth", "level__is_compound", "household_count", "liaison_household_count")
        )
        inner = [n for n in nodes if any(n.path.startswith(r) for r in roots)]
        figures = _unit_figures(roots)
        for node in inner:
            _units, households, liaised = _sum_under(figures, node.path)
            if (households, liaised) != (node.household_count, node.liaison_household_count):
                AreaNode.objects.filter(pk=node.pk).update(household_count=households, liaison_household_count=liaised)
        _resum([n for n in nodes if n.pk in above])


UNIT_COUNT_FIELDS = COUNT_FIELDS[:-1]  # what units and residences change (compound_count: what nodes change)


def refresh_unit_counts(unit_paths: Iterable[str], *, today: date | None = None) -> None:
    """Recount the nodes on these units' paths, from each one's compound down to the unit's building or entrance,
    and sum every node above the compounds again from its children.

    Called inside the transaction of every action that adds a unit, starts or ends a residence, or changes or
    erases a resident's birth date, so the counts the pages show are right the moment the action commits (the
    nightly `recount_counts` then only has birthdays to catch). Same lock order as every other writer (the nodes
    on the paths, deepest first); the compounds' own nodes are recounted, not adjusted, once locked, so a compound
    that had drifted is set right by its next change, and so are the nodes above it (`_resum`). Queries: the lock,
    one grouped count of the compounds' units, one count of residents per node recounted, one UPDATE per changed
    node, and one sum and one UPDATE per node above.
    """
    paths = sorted(set(unit_paths))
    if not paths:
        return
    cut60, cut80 = age_cuts(today or timezone.localdate())
    ids = {int(i) for p in paths for i in p.strip("/").split("/")}
    with transaction.atomic(savepoint=False):
        nodes = list(
            AreaNode.objects.select_for_update(of=("self",))
            .filter(pk__in=ids)
            .select_related("level")
            .order_by("-depth", "pk")
            .only("pk", "path", "depth", "level__is_compound", *UNIT_COUNT_FIELDS)
        )
        by_path = {n.path: n for n in nodes}
        compounds: dict[str, AreaNode] = {}  # unit path → its compound (the deepest compound node on it)
        for p in paths:
            chain = [by_path[a] for a in _ancestor_paths(p) if a in by_path]
            inside = [n for n in chain if n.level.is_compound]
            if inside:
                compounds[p] = max(inside, key=lambda n: n.depth)
        if not compounds:
            return
        roots = sorted({c.path for c in compounds.values()})
        inner = [n for n in nodes if any(n.path.startswith(r) for r in roots)]
        figures = _unit_figures(roots)
        for node in inner:
            units, households, liaised = _sum_under(figures, node.path)
            counted = dict(
                zip(
                    UNIT_COUNT_FIELDS,
                    (units, households, liaised, *_resident_figures(node.path, cut60, cut80)),
                    strict=True,
                )
            )
            if any(getattr(node, f) != v for f, v in counted.items()):
                AreaNode.objects.filter(pk=node.pk).update(**counted)
        _resum([n for n in nodes if n not in inner])


def _resident_figures(path: str, cut60: date, cut80: date) -> tuple[int, int, int]:
    """(current residents, those 60+, those 80+) under a node's path: distinct people, one query."""
    agg = Residence.objects.filter(unit__path__startswith=path, until__isnull=True).aggregate(
        n=Count("person", distinct=True),
        a60=Count("person", distinct=True, filter=Q(person__birth_date__lte=cut60)),
        a80=Count("person", distinct=True, filter=Q(person__birth_date__lte=cut80)),
    )
    return agg["n"], agg["a60"], agg["a80"]


def _residence_paths(person: Person) -> list[str]:
    return list(Residence.objects.filter(person=person, until__isnull=True).values_list("unit__path", flat=True))


def age_cuts(today: date) -> tuple[date, date]:
    """The latest birth dates of a resident aged 60 and of one aged 80 on `today` (the stored elderly counts)."""
    return date(today.year - 60, today.month, min(today.day, 28)), date(
        today.year - 80, today.month, min(today.day, 28)
    )


def refresh_stats(compound: AreaNode, *, today: date | None = None) -> None:
    """Recount a compound's units, households (and those with a liaison), residents and elderly, and roll the
    change up to its ancestors.

    Counts are stored on the nodes so no page ever counts rows at read time. Ages are computed on `today`.
    A full recount: whatever drifted in the compound is set right.
    """
    today = today or timezone.localdate()
    cut60, cut80 = age_cuts(today)
    with transaction.atomic():
        subtree = list(
            AreaNode.objects.select_for_update(of=("self",))
            .filter(path__startswith=compound.path)
            .order_by("-depth", "pk")
        )
        figures = _unit_figures([compound.path])
        for node in subtree:
            units, households, liaised = _sum_under(figures, node.path)
            residents, aged60, aged80 = _resident_figures(node.path, cut60, cut80)
            AreaNode.objects.filter(pk=node.pk).update(
                unit_count=units,
                household_count=households,
                liaison_household_count=liaised,
                resident_count=residents,
                aged_60_count=aged60,
                aged_80_count=aged80,
                compound_count=AreaNode.objects.filter(path__startswith=node.path, level__is_compound=True).count(),
            )
        roll_up(compound)


def roll_up(node: AreaNode) -> None:
    """Recompute each ancestor's counts as the sum of its children's (cheap: one query per ancestor).

    The ancestors are locked (deepest first) before any sum is read, so a concurrent change below them is
    either in the sums or applied on top of them, never lost.
    """
    with transaction.atomic(savepoint=False):
        node.refresh_from_db()
        ancestors = list(
            AreaNode.objects.select_for_update(of=("self",))
            .filter(pk__in=node.ids_on_path[:-1])
            .select_related("level")
            .order_by("-depth", "pk")
        )
        _resum(ancestors)


def _resum(ancestors: Iterable[AreaNode]) -> None:
    """Set each node to the sum of its children's counts, deepest first (the caller holds their locks).

    Summing, not moving by a difference: the nodes above a compound are right afterwards even if the compound
    had drifted (a difference applied to a node that already carried the drift could go below zero)."""
    for ancestor in sorted(ancestors, key=lambda n: (-n.depth, n.pk)):
        sums = AreaNode.objects.filter(parent=ancestor).aggregate(**{field: Sum(field) for field in COUNT_FIELDS})
        AreaNode.objects.filter(pk=ancestor.pk).update(
            **{field: sums[field] or 0 for field in COUNT_FIELDS if field != "compound_count"},
            compound_count=(sums["compound_count"] or 0) + (1 if ancestor.level.is_compound else 0),
        )


# --- the nightly recount of the stored counts ---------------------------------------------------------------


@dataclass(frozen=True)
class CountDrift:
    """One node (or, with `unit_id`, one unit in it) whose stored counts differ from its rows: {field: (stored,
    counted)} for the fields that differ."""

    node_id: int
    name: str
    fields: dict[str, tuple[int, int]]
    unit_id: int | None = None


def _current_residents() -> Coalesce:
    """The outer unit's current residents, as an expression (a correlated count)."""
    residences = Residence.objects.filter(unit=OuterRef("pk"), until__isnull=True).order_by().values("unit")
    return Coalesce(Subquery(residences.annotate(c=Count("pk")).values("c")), 0)


def unit_drifts() -> list[CountDrift]:
    """Units whose kept resident count (what makes a unit a household) differs from their current residences.
    One grouped query over the units and their residences."""
    rows = (
        Unit.objects.annotate(counted=Count("residences", filter=Q(residences__until__isnull=True)))
        .exclude(resident_count=F("counted"))
        .order_by("path", "pk")
        .values_list("pk", "node_id", "node__name", "number", "resident_count", "counted")
    )
    return [
        CountDrift(node, f"{name} {number}", {"resident_count": (kept, counted)}, unit_id=pk)
        for pk, node, name, number, kept, counted in rows
    ]


def counted_figures(*, today: date | None = None) -> dict[int, dict[str, int]]:
    """Every node's counts computed from the rows, as `refresh_stats` and `roll_up` would store them.

    A compound (the outermost node at a compound level) and the nodes inside it count from their own rows: units,
    households and those with a current liaison under the node's path, distinct current residents (60+ and 80+
    on `today`) and compounds. A node above the compounds holds the sum of its children. Reads, per compound, one
    grouped query over its units and one over its current residences, so memory is bounded by the largest
    compound, not by the city.
    """
    today = today or timezone.localdate()
    cut60, cut80 = age_cuts(today)
    nodes = list(AreaNode.objects.order_by("path").values_list("pk", "path", "parent_id", "level__is_compound"))
    compound_set = {path for _pk, path, _parent, is_compound in nodes if is_compound}
    root_set = _outermost(compound_set)
    counted: dict[int, dict[str, int]] = {}
    by_path = {path: pk for pk, path, _parent, _c in nodes}
    inside: dict[str, list[str]] = {root: [] for root in root_set}  # compound root → paths of its nodes
    for _pk, path, _parent, _c in nodes:
        for prefix in _ancestor_paths(path):
            if prefix in root_set:
                inside[prefix].append(path)
                break
    for root in sorted(root_set):
        figures = _unit_figures([root])
        people: dict[str, list[set[int]]] = {path: [set(), set(), set()] for path in inside[root]}
        residences = (
            Residence.objects.filter(unit__path__startswith=root, until__isnull=True)
            .order_by()
            .values_list("unit__path", "person_id", "person__birth_date")
        )
        for unit_path, person_id, born in residences.iterator(chunk_size=5000):
            for prefix in _ancestor_paths(unit_path):
                if prefix in people:
                    sets = people[prefix]
                    sets[0].add(person_id)
                    if born is not None and born <= cut60:
                        sets[1].add(person_id)
                    if born is not None and born <= cut80:
                        sets[2].add(person_id)
        for path in inside[root]:
            units, households, liaised = _sum_under(figures, path)
            residents, aged60, aged80 = people[path]
            counted[by_path[path]] = {
                "unit_count": units,
                "household_count": households,
                "liaison_household_count": liaised,
                "resident_count": len(residents),
                "aged_60_count": len(aged60),
                "aged_80_count": len(aged80),
                "compound_count": sum(1 for p in inside[root] if p in compound_set and p.startswith(path)),
            }
    # Above the compounds: the sum of the children, deepest first (a path holds one id per level).
    children: dict[int, list[int]] = {}
    for pk, _path, parent, _c in nodes:
        if parent is not None:
            children.setdefault(parent, []).append(pk)
    compound_ids = {pk for pk, _path, _parent, is_compound in nodes if is_compound}
    for pk, _path, _parent, _c in sorted(nodes, key=lambda n: -n[1].count("/")):
        if pk in counted:
            continue
        sums = {field: sum(counted[child][field] for child in children.get(pk, ())) for field in COUNT_FIELDS}
        sums["compound_count"] += 1 if pk in compound_ids else 0
        counted[pk] = sums
    return counted


def _ancestor_paths(path: str) -> list[str]:
    """ "/1/5/27/" → ["/1/", "/1/5/", "/1/5/27/"] (the node's own path last)."""
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def _outermost(compound_paths: set[str]) -> set[str]:
    """The compounds inside no other compound (a nested compound is counted with the one around it)."""
    return {p for p in compound_paths if not any(a in compound_paths for a in _ancestor_paths(p)[:-1])}


def recount_counts(*, actor: User | None, today: date | None = None, dry_run: bool = False) -> list[CountDrift]:
    """The scheduled recount of the counts stored on the area nodes (run nightly: `manage.py recount_counts`).

    The counts are kept by the actions that change them, but some move without any row changing — a resident
    turns 60 or 80 overnight — and a row written past the actions (a repair by hand in the database) leaves its
    compound's figures behind. Every node is counted
    from the rows (`counted_figures`); each compound that differs anywhere is recounted under its locks
    (`refresh_stats`, which rolls the change up) and each node above the compounds that still differs is summed
    again from its children (`roll_up`). Before the nodes, each unit whose kept resident count differs from its
    current residences is set right (it decides whether the unit is a household; a dry run reports it, and the
    node figures it would then move only on the real run). One audit entry per corrected unit or node names the
    fields, stored → counted (counts only, nothing personal). Returns what differed, units first; `dry_run`
    changes nothing.
    """
    require(actor, "registry.recount_counts")
    today = today or timezone.localdate()
    units = unit_drifts()  # first: a unit's resident count decides whether it is a household
    if units and not dry_run:
        for drift in units:
            with transaction.atomic():
                Unit.objects.filter(pk=drift.unit_id).update(resident_count=_current_residents())
                audit.record(
                    "registry.recount_counts",
                    ("registry.unit", drift.unit_id),
                    actor=actor,
                    changes={f: [s, w] for f, (s, w) in drift.fields.items()},
                )
    counted = counted_figures(today=today)
    stored = {
        row[0]: row for row in AreaNode.objects.values_list("pk", "name", "path", "level__is_compound", *COUNT_FIELDS)
    }
    drifts: list[CountDrift] = []
    # Deepest first (a path holds one id per level): compounds are recounted before the nodes above them are summed.
    for pk, (_pk, name, _path, _c, *values) in sorted(stored.items(), key=lambda kv: (-kv[1][2].count("/"), kv[0])):
        want = counted.get(pk)
        if want is None:
            continue
        diff = {f: (v, want[f]) for f, v in zip(COUNT_FIELDS, values, strict=True) if v != want[f]}
        if diff:
            drifts.append(CountDrift(pk, name, diff))
    if dry_run or not drifts:
        return units + drifts
    paths = {pk: row[2] for pk, row in stored.items()}
    roots = _outermost({row[2] for row in stored.values() if row[3]})
    done: set[str] = set()
    # Every correction ends by summing the node's ancestors again, so the last one leaves them right.
    for drift in drifts:
        path = paths[drift.node_id]
        root = next((r for r in _ancestor_paths(path) if r in roots), None)
        with transaction.atomic():
            if root is not None:
                if root not in done:
                    refresh_stats(AreaNode.objects.get(path=root), today=today)
                    done.add(root)
            else:
                node = AreaNode.objects.get(pk=drift.node_id)
                child = node.children.order_by("pk").first()
                if child is not None:
                    roll_up(child)
                else:  # a leaf above the compounds: nothing under it; then its ancestors summed again
                    AreaNode.objects.filter(pk=node.pk).update(**{f: want for f, (_s, want) in drift.fields.items()})
                    roll_up(node)
            audit.record(
                "registry.recount_counts",
                ("registry.areanode", drift.node_id),
                actor=actor,
                changes={f: [s, w] for f, (s, w) in drift.fields.items()},
            )
    return units + drifts
