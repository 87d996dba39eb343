"""Reads: which organisations cover a compound, and the coverage report (三类组织 and liaisons per 楼院).

Coverage rule (stated on the page too): a compound (楼院) *has* a party / self-governance / volunteer
organisation when a current (not dissolved) organisation of that category sits at the compound itself or at
its parent node when that parent lies below the community level (its 小区). Organisations at the community
(the 社区大党委, the 居委会) serve the whole community and do not count. A household is a unit with at least
one current resident; it "has a liaison" when a current LiaisonAssignment points at it.

Every function here costs a fixed number of queries whatever the number of compounds or households, and the
report never reads a unit: the household figures are the counts stored on each compound (`household_count`,
`liaison_household_count`, kept exact by registry.actions.refresh_household_counts / refresh_stats), the
category flags EXISTS subqueries on the (few) organisations, pages are cut by key (`after`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Sum

from gongzhi.core import pii
from gongzhi.organizations.kinds import COMMUNITY_LEVEL
from gongzhi.organizations.models import LiaisonAssignment, Membership, Organization
from gongzhi.registry.models import AreaLevel, AreaNode, Residence, Unit

CATEGORY_FLAGS = (("party", "has_party"), ("self_governance", "has_self_governance"), ("volunteer", "has_volunteer"))


# --- organisations ------------------------------------------------------------------------------------


def current_organizations() -> QuerySet[Organization]:
    return Organization.objects.filter(dissolved__isnull=True).select_related("kind", "node", "node__level")


def organizations_at(compound: AreaNode) -> QuerySet[Organization]:
    """Current organisations covering a compound: at the compound, at any node above it, or inside it."""
    return (
        current_organizations()
        .filter(Q(node_id__in=compound.ids_on_path) | Q(path__startswith=compound.path))
        .order_by("node__depth", "kind__chain_rank", "kind__category", "name")
    )


def organizations_under(
    node: AreaNode, *, kind_code: str | None = None, include_dissolved: bool = False
) -> QuerySet[Organization]:
    qs = Organization.objects.filter(path__startswith=node.path).select_related("kind", "node", "parent")
    if not include_dissolved:
        qs = qs.filter(dissolved__isnull=True)
    if kind_code:
        qs = qs.filter(kind__code=kind_code)
    return qs


def current_members(org: Organization) -> QuerySet[Membership]:
    """Current members with, for each, the number of households they look after as a liaison."""
    return (
        Membership.objects.filter(organization=org, until__isnull=True)
        .select_related("person")
        .annotate(household_total=Count("households", filter=Q(households__until__isnull=True)))
        .order_by("role", "id")
    )


def member_row(membership: Membership, *, unmasked: bool = False) -> dict:
    person = membership.person
    return {
        "id": membership.pk,
        "person_id": person.pk,
        "name": person.name if unmasked else pii.mask_name(person.name),
        "phone": person.phone if unmasked else pii.mask_phone(person.phone),
        "role": membership.role,
        "role_label": membership.get_role_display(),
        "is_party_member": membership.is_party_member,
        "since": membership.since,
        "households": getattr(membership, "household_total", None)
        if membership.role == Membership.Role.LIAISON
        else None,
    }


# --- coverage ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageRow:
    """One 楼院 of the coverage report."""

    compound_id: int
    name: str
    path: str
    parent_name: str
    community_id: int | None
    community: str
    has_party: bool
    has_self_governance: bool
    has_volunteer: bool
    households: int
    households_without_liaison: int

    @property
    def missing(self) -> list[str]:
        return [cat for cat, flag in CATEGORY_FLAGS if not getattr(self, flag)]

    @property
    def complete(self) -> bool:
        return not self.missing and self.households_without_liaison == 0


@dataclass
class CoveragePage:
    rows: list[CoverageRow]
    next_after: int | None  # pass as `after` for the next page; None on the last page

    def __iter__(self) -> Iterator[CoverageRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class CoverageTotals:
    """Totals for one community (or, with community_id None, the whole node)."""

    community_id: int | None
    community: str
    compounds: int = 0
    with_party: int = 0
    with_self_governance: int = 0
    with_volunteer: int = 0
    with_all_three: int = 0
    households: int = 0
    households_without_liaison: int = 0
    extra: dict = field(default_factory=dict)


def _community_depth() -> Subquery:
    return Subquery(AreaLevel.objects.filter(code=COMMUNITY_LEVEL).values("depth")[:1])


def _has_category(category: str) -> ExpressionWrapper:
    # kinds.serves_compound in SQL: the compound itself, or its parent when the parent sits below the community
    # level (its 小区; Erqi's levels have one level between community and compound). Two EXISTS, each an index
    # look-up by node, rather than one with an OR that makes the database read every organisation of the
    # category for every compound.
    current = Organization.objects.filter(kind__category=category, dissolved__isnull=True)
    at_compound = Exists(current.filter(node_id=OuterRef("pk")))
    at_parent = Exists(current.filter(node_id=OuterRef("parent_id"), node__level__depth__gt=_community_depth()))
    return ExpressionWrapper(Q(at_compound) | Q(at_parent), output_field=BooleanField())


def households_qs(compound_ref: int) -> QuerySet[Unit]:
    return Unit.objects.filter(compound_id=compound_ref, resident_count__gt=0)


def _without_liaison(qs: QuerySet[Unit]) -> QuerySet[Unit]:
    return qs.filter(~Exists(LiaisonAssignment.objects.filter(unit_id=OuterRef("pk"), until__isnull=True)))


def compounds_under(node: AreaNode) -> QuerySet[AreaNode]:
    return AreaNode.objects.filter(path__startswith=node.path, level__is_compound=True)


def annotated_compounds(node: AreaNode) -> QuerySet[AreaNode]:
    """Compounds under `node` with the coverage figures as annotations (one SQL statement, no unit read)."""
    return compounds_under(node).annotate(
        has_party=_has_category("party"),
        has_self_governance=_has_category("self_governance"),
        has_volunteer=_has_category("volunteer"),
        households=F("household_count"),
        households_without_liaison=F("household_count") - F("liaison_household_count"),
    )


def _incomplete_q() -> Q:
    return (
        Q(has_party=False) | Q(has_self_governance=False) | Q(has_volunteer=False) | Q(households_without_liaison__gt=0)
    )


def communities_for(node: AreaNode) -> list[AreaNode]:
    """The communities containing or inside `node` (one query)."""
    return list(
        AreaNode.objects.filter(level__code=COMMUNITY_LEVEL)
        .filter(Q(pk__in=node.ids_on_path) | Q(path__startswith=node.path))
        .order_by("path")
    )


def _community_of(path: str, community_ids: dict[int, str]) -> int | None:
    """The community a path lies in: the first id on it (from the top) that is one of `community_ids`.

    Read from the path in Python rather than matched in SQL, so grouping costs O(compounds), not
    O(compounds × communities)."""
    for part in path.strip("/").split("/"):
        if part and int(part) in community_ids:
            return int(part)
    return None


def coverage_for(
    node: AreaNode,
    *,
    after: int | None = None,
    limit: int = 50,
    only_incomplete: bool = False,
    communities: list[AreaNode] | None = None,
) -> CoveragePage:
    """One page of the coverage report for the compounds under `node`, ordered by path, cut by key.

    `after` is the id of the last compound of the previous page. Costs two queries (one if `communities`
    is given): the communities, and the page itself.
    """
    if communities is None:
        communities = communities_for(node)
    names = {c.pk: c.name for c in communities}
    qs = annotated_compounds(node).select_related("parent")
    if only_incomplete:
        qs = qs.filter(_incomplete_q())
    if after:
        qs = qs.filter(path__gt=Subquery(AreaNode.objects.filter(pk=after).values("path")[:1]))
    batch = list(qs.order_by("path")[: limit + 1])
    rows = []
    for c in batch[:limit]:
        community_id = _community_of(c.path, names)
        rows.append(
            CoverageRow(
                compound_id=c.pk,
                name=c.name,
                path=c.path,
                parent_name=c.parent.name if c.parent_id else "",
                community_id=community_id,
                community=names.get(community_id, ""),
                has_party=c.has_party,
                has_self_governance=c.has_self_governance,
                has_volunteer=c.has_volunteer,
                households=c.households,
                households_without_liaison=c.households_without_liaison,
            )
        )
    return CoveragePage(rows=rows, next_after=rows[-1].compound_id if len(batch) > limit else None)


def coverage_totals(
    node: AreaNode, *, communities: list[AreaNode] | None = None
) -> tuple[list[CoverageTotals], CoverageTotals]:
    """Totals per community and for the whole node, over every compound (not just one page): one query.

    The database groups the compounds by their parent (a 小区, or the community itself) and sums the stored
    household figures of the compounds, so no unit is read and the totals always add up to the rows shown;
    the parents are then put into their communities here, from their paths.
    """
    if communities is None:
        communities = communities_for(node)
    names = {c.pk: c.name for c in communities}
    flags = Q(has_party=True, has_self_governance=True, has_volunteer=True)
    grouped = (
        annotated_compounds(node)
        .order_by()
        .values("parent__path")
        .annotate(
            n=Count("pk"),
            party=Count("pk", filter=Q(has_party=True)),
            sg=Count("pk", filter=Q(has_self_governance=True)),
            vol=Count("pk", filter=Q(has_volunteer=True)),
            all3=Count("pk", filter=flags),
            hh=Sum("household_count"),
            liaised=Sum("liaison_household_count"),
        )
    )
    by_community: dict[int | None, CoverageTotals] = {}
    grand = CoverageTotals(community_id=None, community="")
    for g in grouped:
        community_id = _community_of(g["parent__path"] or "", names)
        t = by_community.get(community_id)
        if t is None:
            t = by_community[community_id] = CoverageTotals(
                community_id=community_id, community=names.get(community_id, "")
            )
        households = g["hh"] or 0
        for total in (t, grand):
            total.compounds += g["n"]
            total.with_party += g["party"]
            total.with_self_governance += g["sg"]
            total.with_volunteer += g["vol"]
            total.with_all_three += g["all3"]
            total.households += households
            total.households_without_liaison += households - (g["liaised"] or 0)
    per_community = list(by_community.values())
    order = {c.pk: i for i, c in enumerate(communities)}
    per_community.sort(key=lambda t: order.get(t.community_id, len(order)))
    return per_community, grand


def iter_coverage(node: AreaNode, *, only_incomplete: bool = False, chunk: int = 500) -> Iterator[CoverageRow]:
    """Every coverage row under `node`, fetched by key in chunks (for exports): one query per chunk."""
    communities = communities_for(node)
    after = None
    while True:
        page = coverage_for(node, after=after, limit=chunk, only_incomplete=only_incomplete, communities=communities)
        yield from page.rows
        if page.next_after is None:
            return
        after = page.next_after


@dataclass(frozen=True)
class HouseholdRow:
    unit_id: int
    number: str
    node_name: str  # the entrance or building the unit is in
    building_name: str
    head_name_masked: str
    resident_count: int


def households_without_liaison(
    compound: AreaNode, *, after: int | None = None, limit: int = 50
) -> tuple[list[Any], int | None]:
    """The households of one compound with no current liaison, by unit id (keyset): one query.

    Returns (rows, next_after).
    """
    head = (
        Residence.objects.filter(unit_id=OuterRef("pk"), until__isnull=True)
        .order_by("-is_household_head", "id")
        .values("person__name")[:1]
    )
    qs = (
        _without_liaison(households_qs(compound.pk))
        .select_related("node", "node__parent", "node__level")
        .annotate(head_name=Subquery(head))
        .order_by("id")
    )
    if after:
        qs = qs.filter(id__gt=after)
    batch = list(qs[: limit + 1])
    rows = []
    for u in batch[:limit]:
        building = u.node if u.node.level.code == "building" or u.node.parent is None else u.node.parent
        rows.append(
            HouseholdRow(
                unit_id=u.pk,
                number=u.number,
                node_name=u.node.name,
                building_name=building.name,
                head_name_masked=pii.mask_name(u.head_name),
                resident_count=u.resident_count,
            )
        )
    return rows, (rows[-1].unit_id if len(batch) > limit else None)
