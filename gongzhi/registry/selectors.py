"""Reads for the registry pages and API: scoped, keyset-paged, a fixed number of queries whatever the size.

Every function here takes the acting user (or an already scoped node) and never widens the scope. Pages page by
key (`after=`), never by OFFSET or COUNT; the counts shown are the ones stored on AreaNode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from gongzhi.core import pii
from gongzhi.core.rules import scope_paths, scope_q, scoped
from gongzhi.organizations.kinds import COMMUNITY_LEVEL, serves_compound
from gongzhi.organizations.models import LiaisonAssignment, OrgKind
from gongzhi.registry import pagesql
from gongzhi.registry.models import AreaLevel, AreaNode, Ownership, Person, Residence, Unit

CHILDREN_PAGE = 50
UNITS_PAGE = 50
SEARCH_LIMIT = 50
ORGS_LIMIT = 100


# --- Scope -----------------------------------------------------------------------------------------------


def is_staff(user) -> bool:
    """May the user open the staff pages at all (a staff role anywhere)?"""
    return bool(user.is_authenticated and user.has_perm("registry.view_areanode"))


def visible_nodes(user) -> QuerySet[AreaNode]:
    return scoped(AreaNode.objects.all(), user, "staff", "path")


def visible_units(user) -> QuerySet[Unit]:
    return scoped(Unit.objects.all(), user, "staff", "path")


def visible_people(user) -> QuerySet[Person]:
    """People managed from, owning or living in a unit within the user's scope."""
    if user.is_superuser:
        return Person.objects.all()
    q = Q(pk__in=[])
    for fld in ("home_path", "ownerships__unit__path", "residences__unit__path"):
        q |= scope_q(user, "staff", fld)
    return Person.objects.filter(pk__in=Person.objects.filter(q).values("pk"))


def person_units(person: Person) -> dict[str, list]:
    """The units a person owns and lives in (current and past), with their compounds: two queries."""
    related = ("unit__node", "unit__compound")
    return {
        "owns": list(Ownership.objects.filter(person=person).select_related(*related).order_by("until", "pk")),
        "lives": list(Residence.objects.filter(person=person).select_related(*related).order_by("until", "pk")),
    }


def top_scope_nodes(user) -> list[AreaNode]:
    """The highest nodes the user works at (a district admin: the district); nested scopes are dropped."""
    qs = AreaNode.objects.select_related("level").order_by("depth", "name")
    if user.is_superuser:
        return list(qs.filter(parent__isnull=True)[:CHILDREN_PAGE])
    return list(qs.filter(path__in=scope_paths(user, "staff")))


# --- Levels ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelPlan:
    """Which levels get which page, from the configured levels (Erqi: 小区 and 楼院 → compound page;
    楼栋 and 单元 → unit list; 区/街道/社区 → area page)."""

    compound_depth: int | None
    community_depth: int | None = None

    @classmethod
    def load(cls) -> LevelPlan:
        depths = AreaLevel.objects.filter(is_compound=True).order_by("depth").values_list("depth", flat=True)
        community = AreaLevel.objects.filter(code=COMMUNITY_LEVEL).values_list("depth", flat=True)
        return cls(depths.first(), community.first())

    def page_kind(self, level: AreaLevel) -> str:
        if self.compound_depth is None:
            return "area"
        if level.depth > self.compound_depth:
            return "units"
        if level.depth >= self.compound_depth - 1:
            return "compound"
        return "area"

    def is_compound_side(self, depth: int) -> bool:
        """Organisations at these depths belong to a compound, not to the community serving many compounds
        (`organizations.kinds.serves_compound`, the rule the coverage report applies too)."""
        return serves_compound(depth, community_depth=self.community_depth, compound_depth=self.compound_depth)


# --- Paths and pages -------------------------------------------------------------------------------------------


def path_prefixes(path: str) -> list[str]:
    """ "/1/5/27/" → ["/1/", "/1/5/", "/1/5/27/"]: the paths of every ancestor and the node itself."""
    ids = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(ids[: i + 1]) + "/" for i in range(len(ids))]


def ancestors(node: AreaNode) -> list[AreaNode]:
    """Every node above `node`, top first, in one query: name and path only (breadcrumbs and scope checks)."""
    ids = node.ids_on_path[:-1]
    if not ids:
        return []
    return list(AreaNode.objects.filter(pk__in=ids).only("name", "path", "depth").order_by("depth"))


@dataclass
class Page:
    rows: list
    next_after: str | int | None = None
    after: str | int | None = None


def children_page(node: AreaNode, after: str = "", size: int = CHILDREN_PAGE) -> Page:
    """A node's children ordered by name (unique within a parent), `size` at a time after the name `after`,
    each with its `level` loaded."""
    rows = pagesql.children(node.pk, after, size + 1)
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, rows[-1].name if more else None, after or None)


def parse_after_id(raw: str | None) -> int | None:
    try:
        value = int(raw or "")
    except ValueError:
        return None
    return value if value > 0 else None


def unit_rows_page(node: AreaNode, after: int | None = None, size: int = UNITS_PAGE, *, unit_url: str = "") -> Page:
    """Units under a building or entrance by id, as plain rows ready for the unit table: one query per page.

    Rows are dicts of display values (the table shows hundreds of cells, so nothing is left for the template to
    compute): `pk`, `url` (`unit_url` + pk + "/"), `number`, `entrance` (blank for units directly under `node`),
    `floor`, `area` and `source` (the voting area by `Unit.AREA_SOURCES` order, see `Unit.voting_area`),
    `residents`, and the current owners' names, masked (the list never unmasks): `voter`, the designated voter
    (at most one per unit), and `others`, the other owners joined with "、".
    """
    sources = [str(label) for _code, label in Unit.AREA_SOURCES]
    units: dict[int, tuple] = {}  # id → (number, floor, residents, node id, node name, areas)
    voters: dict[int, str] = {}
    others: dict[int, list[str]] = {}
    natural = Person.Kind.NATURAL
    for pk, number, floor, residents, node_id, *areas, node_name, name, kind, is_voter in pagesql.unit_rows(
        node.ids_on_path, node.path, after, size + 1
    ):
        if pk not in units:
            units[pk] = (number, floor, residents, node_id, node_name, areas)
            others[pk] = []
        if name is None:
            continue
        shown = pii.mask_name(name) if kind == natural else name
        if is_voter:
            voters[pk] = shown
        else:
            others[pk].append(shown)
    ids = list(units)
    more = len(ids) > size
    ids = ids[:size]
    rows = []
    for pk in ids:
        number, floor, residents, node_id, node_name, areas = units[pk]
        area, source = next(
            ((value, label) for value, label in zip(areas, sources, strict=True) if value is not None), ("—", "")
        )
        rows.append(
            {
                "pk": pk,
                "url": f"{unit_url}{pk}/",
                "number": number,
                "entrance": "" if node_id == node.pk else node_name,
                "floor": "" if floor is None else str(floor),
                "area": str(area),
                "source": source,
                "residents": str(residents),
                "voter": voters.get(pk, ""),
                "others": "、".join(others[pk]),
            }
        )
    return Page(rows, ids[-1] if more else None, after)


def organisations_for(node: AreaNode, plan: LevelPlan) -> tuple[list, list, list[tuple[str, str, bool]]]:
    """Organisations covering a compound: those at it or its ancestors, and those at compound level inside it.

    Returns (own, above, three_kinds): `own` sit at the compound side of the tree (小区/楼院) and decide which of
    the 三类组织 are present; `above` (e.g. the 社区大党委) serve many compounds and are shown for context.
    Each organisation is a dict: `name`, `kind` (the kind's name), `category`, `where` (its node's name), `depth`
    (its node's level's depth, as the coverage report compares).
    """
    orgs = [
        {"name": name, "kind": kind, "category": category, "where": where, "depth": depth}
        for name, kind, category, where, depth in pagesql.organisations(path_prefixes(node.path), node.path, ORGS_LIMIT)
    ]
    own = [o for o in orgs if plan.is_compound_side(o["depth"])]
    above = [o for o in orgs if not plan.is_compound_side(o["depth"])]
    present = {o["category"] for o in own}
    cats = (OrgKind.Category.PARTY, OrgKind.Category.SELF_GOVERNANCE, OrgKind.Category.VOLUNTEER)
    return own, above, [(c.value, c.label, c.value in present) for c in cats]


# --- People ------------------------------------------------------------------------------------------------------

AGE_BANDS = ((80, _("80岁及以上")), (60, _("60–79岁")), (18, _("18–59岁")), (0, _("未满18岁")))


def age_band(born: date | None, today: date) -> str:
    if born is None:
        return str(_("不详"))
    age = pii.age_on(born, today)
    for floor, label in AGE_BANDS:
        if age >= floor:
            return str(label)
    return str(AGE_BANDS[-1][1])


@dataclass
class ShownPerson:
    """A person as one viewer may see them: masked unless the viewer may and asked to see more."""

    pk: int
    kind: str
    name: str
    phone: str
    id_number: str
    unmasked: bool = False
    is_developer: bool = False


def show_person(person: Person, *, unmasked: bool = False, with_id: bool = True) -> ShownPerson:
    natural = person.kind == Person.Kind.NATURAL
    if unmasked:
        id_number = person.get_id_number() if with_id else ""
        return ShownPerson(person.pk, person.kind, person.name, person.phone, id_number, True, person.is_developer)
    id_number = pii.mask_id_number(person.get_id_number()) if with_id and person.id_number_enc else ""
    return ShownPerson(
        person.pk,
        person.kind,
        pii.mask_name(person.name) if natural else person.name,
        pii.mask_phone(person.phone),
        id_number,
        False,
        person.is_developer,
    )


@dataclass
class UnitView:
    unit: Unit
    owners: list[tuple[Ownership, ShownPerson]] = field(default_factory=list)
    residents: list[tuple[Residence, ShownPerson, str]] = field(default_factory=list)
    liaison: object | None = None
    people: list[Person] = field(default_factory=list)  # everyone shown, for the pii.view audit entries


def unit_view(unit: Unit, *, unmasked: bool, today: date) -> UnitView:
    """Owners, residents and the liaison of one unit: three queries."""
    view = UnitView(unit)
    seen: dict[int, Person] = {}
    for own in (
        Ownership.objects.filter(unit=unit, until__isnull=True)
        .select_related("person")
        .order_by("-is_designated_voter", "id")
    ):
        view.owners.append((own, show_person(own.person, unmasked=unmasked)))
        seen[own.person_id] = own.person
    for res in (
        Residence.objects.filter(unit=unit, until__isnull=True)
        .select_related("person")
        .order_by("-is_household_head", "id")
    ):
        shown = show_person(res.person, unmasked=unmasked, with_id=unmasked)
        view.residents.append((res, shown, age_band(res.person.birth_date, today)))
        seen[res.person_id] = res.person
    view.liaison = (
        LiaisonAssignment.objects.filter(unit=unit, until__isnull=True)
        .select_related("liaison__person", "liaison__organization")
        .first()
    )
    view.people = list(seen.values())
    return view


# --- Search ------------------------------------------------------------------------------------------------------

_UNIT_TEXT = re.compile(
    r"^(?:(?P<compound>\S+)\s+)?(?P<building>[^\s\-—－]+)[\-—－](?:(?P<entrance>[^\s\-—－]+)[\-—－])?(?P<room>[0-9A-Za-z]+)$"
)
_PHONE_TEXT = re.compile(r"^\+?[\d\s\-()]{7,20}$")
_ID_TEXT = re.compile(r"^\d{17}[\dXx]$")


def search_nodes(user, q: str) -> list[AreaNode]:
    return list(
        visible_nodes(user)
        .filter(Q(name__icontains=q) | Q(address__icontains=q))
        .select_related("level")
        .order_by("depth", "name")[:SEARCH_LIMIT]
    )


def _name_variants(part: str, suffixes: tuple[str, ...]) -> list[str]:
    return [part] + [part + s for s in suffixes if not part.endswith(s)]


def search_units(user, q: str) -> list[Unit] | None:
    """ "1-1-101", "1号楼-1单元-101", "油漆厂 1-101": building (and entrance) names and the room number.

    Returns None when `q` does not look like a unit reference. One query, at most SEARCH_LIMIT rows.
    """
    m = _UNIT_TEXT.match(q.strip())
    if not m:
        return None
    buildings = _name_variants(m["building"], ("号楼", "栋", "幢", "号"))
    qs = visible_units(user).filter(number=m["room"])
    if m["entrance"]:
        qs = qs.filter(node__name__in=_name_variants(m["entrance"], ("单元",)), node__parent__name__in=buildings)
    else:
        qs = qs.filter(Q(node__name__in=buildings) | Q(node__parent__name__in=buildings))
    if m["compound"]:
        qs = qs.filter(compound__name__icontains=m["compound"])
    return list(qs.select_related("node__parent", "compound").order_by("id")[:SEARCH_LIMIT])


@dataclass
class PeopleLookup:
    kind: str = ""  # "phone" or "id_number"; "" when q is neither
    error: str = ""
    people: list[Person] = field(default_factory=list)


def lookup_kind(q: str) -> str:
    q = q.strip()
    if _ID_TEXT.match(q):
        return "id_number"
    if _PHONE_TEXT.match(q) and sum(c.isdigit() for c in q) >= 7:
        return "phone"
    return ""


def find_people(user, *, phone: str = "", id_number: str = "") -> QuerySet[Person]:
    """Exact look-up by phone or ID number (keyed hash) within the user's scope. Raises pii.PiiError."""
    qs = visible_people(user)
    if id_number:
        qs = qs.filter(id_number_hash=Person.id_lookup(id_number))
    if phone:
        qs = qs.filter(phone=pii.normalize_phone(phone))
    return qs


def with_units_in_scope(qs: QuerySet[Person], user) -> QuerySet[Person]:
    """Prefetch each person's current ownerships and residences in units the user may see (two queries)."""
    in_scope = scope_q(user, "staff", "unit__path") or Q()
    return qs.prefetch_related(
        Prefetch(
            "ownerships",
            queryset=Ownership.objects.filter(in_scope, until__isnull=True).select_related("unit__node"),
            to_attr="shown_ownerships",
        ),
        Prefetch(
            "residences",
            queryset=Residence.objects.filter(in_scope, until__isnull=True).select_related("unit__node"),
            to_attr="shown_residences",
        ),
    )


def people_for_search(user, q: str) -> PeopleLookup:
    kind = lookup_kind(q)
    if not kind:
        return PeopleLookup()
    try:
        qs = find_people(user, **{kind: q})
    except pii.PiiError as e:
        return PeopleLookup(kind, str(e))
    people = list(with_units_in_scope(qs, user).order_by("id")[:SEARCH_LIMIT])
    return PeopleLookup(kind, "", people)
