"""The demo district: 二七区 as the seed tells it, built through the registry and organisation actions.

The story:
- 福华街街道 has 160-odd 楼院, about 80% of them 无主管 (no one manages them). In 铁道家园社区 stands
  油漆厂家属院, 1980s staff housing of the paint factory — the factory (a 产权单位, a legal person) still owns
  some of the flats; and 航海小区, an estate over 30 years old with several 楼院. In 新圃西街社区 about 80% of
  residents are 60 or older and 71% of the 楼院 are unmanaged; its four 1990s 楼院 of 豪邦花园 are renovated
  together as one 片区 (路院同治: the courtyards and the roads between them).
- 大学路街道 has 桃源路47号院, and 正商蔚蓝港湾, a property-managed high-rise compound that collects fees; the
  developer still holds some units (unsold, or sold and not yet delivered).
- 人和路街道 shows the goal: every 楼院 has all three kinds of organisation.
Elsewhere organisations and liaisons are missing on purpose, so the coverage report has something to say.

How apps add to the demo: `load_demo` calls `load(ctx)` of `gongzhi.<app>.demo` for every installed app that
has one, core first, in INSTALLED_APPS order. Each `load` must be idempotent (check whether its content is
there). `ctx` (DemoContext) finds nodes by name, users by name, gives seeded random generators, and collects
rows for the closing table of demo accounts.
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from gongzhi.core import audit, synthetic
from gongzhi.core.models import RoleAssignment, User
from gongzhi.core.roles import ROLES, roles_with
from gongzhi.organizations import actions as org_actions
from gongzhi.organizations.models import Membership, Organization, OrgKind
from gongzhi.registry import actions
from gongzhi.registry.models import AreaLevel, AreaNode, CompoundProfile, Ownership, Person, Residence, Unit, UnitSet

DISTRICT = "二七区"
DISTRICT_CODE = "410103"
SEED = 2026
RESIDENT_PHONE = synthetic.mobile(1)  # the demo resident signs in by SMS with this number


# --- context shared by every app's demo loader ---------------------------------------------------------------
@dataclass
class DemoContext:
    stdout: object = None
    today: date = field(default_factory=timezone.localdate)
    accounts: list[tuple[str, str, str, str]] = field(default_factory=list)  # (user, role, scope, password)
    notes: list[str] = field(default_factory=list)

    @property
    def district(self) -> AreaNode | None:
        return AreaNode.objects.filter(parent=None, name=DISTRICT).first()

    def node(self, *names: str) -> AreaNode:
        """A node by its names from the district down: ctx.node("福华街街道", "铁道家园社区")."""
        node = self.district
        for name in names:
            node = AreaNode.objects.get(parent=node, name=name)
        return node

    def compound(self, name: str) -> AreaNode:
        """A 楼院 of the demo district by its (unique) name."""
        return AreaNode.objects.get(path__startswith=self.district.path, level__is_compound=True, name=name)

    def user(self, username: str) -> User:
        return User.objects.get(username=username)

    def rng(self, name: str) -> random.Random:
        """A random generator seeded by the step's name: each app's data stays the same run after run."""
        return random.Random(f"{SEED}:{name}")

    def say(self, text: str) -> None:
        if self.stdout is not None:
            self.stdout.write(text)


# --- households ------------------------------------------------------------------------------------------------
class AgePlan:
    """Hands out ages so that exactly `share_60` of a community's people are 60+ and `share_80` are 80+.

    A running quota (like Bresenham's line) instead of a coin toss: the figures on the pages match the story.
    """

    def __init__(self, rng: random.Random, today: date, share_60: float, share_80: float):
        self.rng, self.today = rng, today
        self.share_60, self.share_80 = share_60, share_80
        self.n = self.n60 = self.n80 = 0

    def born(self, *, adult: bool = True) -> date:
        self.n += 1
        if adult and self.n60 < round(self.n * self.share_60):
            self.n60 += 1
            if self.n80 < round(self.n * self.share_80):
                self.n80 += 1
                age = self.rng.randint(80, 94)
            else:
                age = self.rng.randint(60, 79)
        else:
            age = self.rng.randint(25, 58) if adult else self.rng.randint(3, 17)
        return date(self.today.year - age - 1, self.rng.randint(1, 12), self.rng.randint(1, 28))


@dataclass
class PersonSpec:
    name: str
    born: date | None = None
    phone: str = ""
    id_number: str = ""
    kind: str = Person.Kind.NATURAL
    person: Person | None = None  # set once written


@dataclass
class Household:
    """Who owns a unit and who lives in it."""

    owners: list[PersonSpec]  # first one is the designated voter
    residents: list[tuple[PersonSpec, str]]  # (person, relation)
    developer_status: str = ""


class People:
    """Synthetic people with unique valid ID numbers and phone numbers, from one seeded generator."""

    def __init__(self, rng: random.Random, today: date):
        self.rng, self.today = rng, today
        self.used_ids: set[str] = set()  # the district is built once, on a database without it
        self.next_phone = 100

    def phone(self) -> str:
        self.next_phone += 1
        return synthetic.mobile(self.next_phone)

    def natural(self, born: date, *, family: str | None = None, phone: bool = True) -> PersonSpec:
        adult = (self.today - born).days >= 18 * 365
        return PersonSpec(
            name=synthetic.full_name(self.rng, born.year, family),
            born=born,
            phone=self.phone() if phone and adult else "",
            id_number=synthetic.id_number(self.rng, born, self.used_ids),
        )

    def household(self, ages: AgePlan, *, tenant_share: float = 0.08, co_owner_share: float = 0.2) -> Household:
        rng = self.rng
        family = synthetic.surname(rng)
        head = self.natural(ages.born(), family=family)
        owners = [head]
        if rng.random() < co_owner_share:  # a married couple owning the flat together
            owners.append(self.natural(ages.born(), phone=rng.random() < 0.7))
        if rng.random() < tenant_share:  # the owners live elsewhere; a tenant household lives here
            tenant = self.natural(ages.born())
            residents = [(tenant, Residence.Relation.TENANT)]
            if rng.random() < 0.5:
                residents.append(
                    (self.natural(ages.born(), family=tenant.name[0], phone=False), Residence.Relation.FAMILY)
                )
            return Household(owners, residents)
        residents = [(p, Residence.Relation.OWNER) for p in owners]
        for _ in range(rng.choice((0, 0, 1, 1, 2))):  # grown children or grandchildren
            young = rng.random() < 0.3
            born = ages.born(adult=not young)
            residents.append((self.natural(born, family=family, phone=False), Residence.Relation.FAMILY))
        return Household(owners, residents)


# --- the area tree -------------------------------------------------------------------------------------------
@dataclass
class CompoundPlan:
    """One 楼院 to build: its buildings × entrances × units per entrance, facts, and who organises it."""

    name: str
    year: int
    management: str
    buildings: list[tuple[str, int, int]]  # (name, entrances, units per entrance)
    estate: str = ""  # the 小区 it belongs to; a small 小区 is a single 楼院 of the same name
    address: str = ""
    fees: bool = False
    notes: str = ""
    orgs: tuple[str, ...] = ()  # "party", "self", "volunteer", "supervision"
    liaison_share: float = 0.0  # share of its households given to a liaison
    occupied: float = 0.92


UNMANAGED = CompoundProfile.Management.UNMANAGED
STREETS = ("福华街", "铁道路", "陇海中路", "兴华北街", "京广中路", "政通路", "工人路", "建新街", "淮河路", "民主路")


def _small(rng: random.Random, name: str, year: int, management: str, orgs=(), liaison_share=0.0) -> CompoundPlan:
    buildings, entrances = [], rng.randint(2, 4)
    n_buildings = min(entrances, rng.randint(1, 3))
    for b in range(n_buildings):
        share = entrances // n_buildings + (1 if b < entrances % n_buildings else 0)
        buildings.append((f"{b + 1}号楼", share, rng.randint(3, 5)))
    return CompoundPlan(
        name, year, management, buildings, orgs=orgs, liaison_share=liaison_share, address=name.removesuffix("院")
    )


def plan_district(rng: random.Random) -> dict:
    """The whole district as data: subdistrict → community → (ages, compounds)."""
    F = CompoundProfile.Management

    def filler(street_seed: int, count: int, unmanaged: int, org_rate: float) -> list[CompoundPlan]:
        out = []
        for i in range(count):
            street = STREETS[(street_seed + i) % len(STREETS)]
            name = f"{street}{10 + street_seed * 7 + i * 2}号院"
            managed = i >= unmanaged
            mgmt = rng.choice((F.PROPERTY_COMPANY, F.COMMUNITY, F.SELF_MANAGED)) if managed else UNMANAGED
            orgs = tuple(
                k
                for k, rate in (("party", org_rate), ("self", org_rate * 0.6), ("volunteer", org_rate * 0.4))
                if rng.random() < rate
            )
            out.append(_small(rng, name, rng.randint(1982, 1999), mgmt, orgs, 0.6 if "party" in orgs else 0.0))
        rng.shuffle(out)
        return out

    paint = CompoundPlan(
        "油漆厂家属院",
        1985,
        UNMANAGED,
        [("1号楼", 3, 10), ("2号楼", 2, 10), ("3号楼", 2, 8)],
        address="福华街28号",
        orgs=("party", "self"),
        liaison_share=0.7,
        notes="郑州油漆厂1980年代建成的职工家属院；工厂作为产权单位仍持有部分房屋。",
    )
    hanghai = [
        CompoundPlan(
            f"航海小区{n}",
            1991,
            UNMANAGED,
            [("1号楼", 2, 6), ("2号楼", 2, 6)],
            estate="航海小区",
            address="航海中路66号",
            orgs=("party",) if n != "四院" else (),
            liaison_share=0.5,
        )
        for n in ("一院", "二院", "三院", "四院")
    ]
    haobang = [
        CompoundPlan(
            f"豪邦花园{n}",
            1996,
            UNMANAGED,
            [("1号楼", 2, 5), ("2号楼", 1, 5)],
            estate="豪邦花园",
            address="新圃西街18号",
            orgs=("party", "supervision"),
            liaison_share=0.8,
        )
        for n in ("东院", "西院", "南院", "北院")
    ]
    xinpu_rest = filler(3, 10, 6, 0.5)  # 4 豪邦 + 6 more unmanaged out of 14 → 10/14 = 71%
    weilan = CompoundPlan(
        "正商蔚蓝港湾",
        2016,
        F.PROPERTY_COMPANY,
        [(f"{b}号楼", 2, 36) for b in range(1, 6)],
        address="大学路街道航海西路与大学路交叉口",
        fees=True,
        orgs=("party", "self", "volunteer"),
        liaison_share=0.3,
        notes="物业公司管理，按月收取物业费；开发建设单位仍持有部分未售和已售未交付房屋。",
        occupied=0.85,
    )
    taoyuan = CompoundPlan(
        "桃源路47号院",
        1989,
        F.COMMUNITY,
        [("1号楼", 2, 6), ("2号楼", 2, 6)],
        address="桃源路47号",
        orgs=("party",),
        liaison_share=0.5,
    )
    renhe = [
        _small(rng, f"人和路{n}号院", rng.randint(1985, 1998), F.SELF_MANAGED, ("party", "self", "volunteer"), 1.0)
        for n in (3, 9, 15, 21, 27)
    ]
    return {
        "福华街街道": {
            "铁道家园社区": ((0.45, 0.10), [paint, *hanghai, *filler(0, 25, 20, 0.6)]),
            "新圃西街社区": ((0.80, 0.22), [*haobang, *xinpu_rest]),
            "福华街社区": ((0.40, 0.08), filler(1, 30, 25, 0.5)),
            "兴华社区": ((0.38, 0.07), filler(2, 30, 24, 0.4)),
            "建新街社区": ((0.42, 0.09), filler(4, 29, 24, 0.5)),
            "陇海社区": ((0.36, 0.06), filler(5, 29, 22, 0.3)),
        },
        "大学路街道": {
            "桃源路社区": ((0.40, 0.08), [taoyuan, *filler(6, 3, 2, 0.5)]),
            "蔚蓝港湾社区": ((0.15, 0.03), [weilan]),
        },
        "人和路街道": {
            "人和路社区": ((0.35, 0.07), renhe),
        },
    }


# --- organisations -----------------------------------------------------------------------------------------
def kind(code: str) -> OrgKind:
    # The kinds are seeded by organizations/migrations/0002_seed_kinds; this keeps the loader working on a DB
    # where a district renamed or removed one.
    names = {"volunteer_team": ("志愿服务队", "volunteer"), "owners_committee": ("业主委员会", "management")}
    name, category = names.get(code, (code, "party"))
    return OrgKind.objects.get_or_create(code=code, defaults={"name": name, "name_en": code, "category": category})[0]


# --- the loader ------------------------------------------------------------------------------------------------
class DistrictLoader:
    def __init__(self, ctx: DemoContext):
        self.ctx = ctx
        self.rng = ctx.rng("district")
        self.people = People(self.rng, ctx.today)
        self.levels = {lv.code: lv for lv in AreaLevel.objects.all()}
        self.demo_persons: dict[str, Person] = {}

    def node(self, parent, level, name, **kw) -> AreaNode:
        return actions.create_area_node(actor=None, parent=parent, level=self.levels[level], name=name, **kw)

    def run(self) -> AreaNode:
        district = self.node(None, "district", DISTRICT, code=DISTRICT_CODE)
        self.paint_factory = self.legal("郑州油漆厂", "91410103170012345X", "0371-68810001")
        self.developer = self.legal("河南正商置业有限公司", "91410100MA3X7Q2L1K", "0371-68810002", developer=True)
        self.property_co = self.legal("河南正商物业服务有限公司", "91410100MA3X8R5P2M", "0371-68810003")
        plan = plan_district(self.rng)
        for sub_name, communities in plan.items():
            sub = self.node(district, "subdistrict", sub_name)
            for com_name, ((s60, s80), compounds) in communities.items():
                com = self.node(sub, "community", com_name)
                ages = AgePlan(self.rng, self.ctx.today, s60, s80)
                committee = org_actions.create_organization(
                    actor=None, kind=kind("community_party_committee"), node=com, name=f"{com_name}大党委"
                )
                org_actions.create_organization(
                    actor=None, kind=kind("residents_committee"), node=com, name=f"{com_name}居民委员会"
                )
                self.resident_units(com, committee)
                estates: dict[str, tuple[AreaNode, Organization | None]] = {}
                for cp in compounds:
                    self.compound(com, cp, ages, committee, estates)
        self.pianqu()
        return district

    def legal(self, name: str, credit_code: str, phone: str, developer: bool = False) -> Person:
        return actions.create_person(
            actor=None, name=name, kind=Person.Kind.LEGAL, credit_code=credit_code, is_developer=developer, phone=phone
        )

    def resident_units(self, community: AreaNode, committee: Organization) -> None:
        """驻区单位 join the community party committee (大党委) as member organisations."""
        units = {
            "铁道家园社区": [("郑州油漆厂", self.paint_factory), ("二七区铁道家园卫生服务站", None)],
            "新圃西街社区": [("二七区新圃西街小学", None)],
            "蔚蓝港湾社区": [("河南正商物业服务有限公司", self.property_co)],
        }
        for name, legal in units.get(
            community.name, [("二七区" + community.name.removesuffix("社区") + "供电所", None)]
        ):
            org_actions.create_organization(
                actor=None, kind=kind("resident_unit"), node=community, name=name, parent=committee, legal_person=legal
            )

    def compound(self, community, cp: CompoundPlan, ages: AgePlan, committee, estates) -> None:
        estate_name = cp.estate or cp.name
        if estate_name not in estates:
            estate = self.node(community, "estate", estate_name, address=cp.address)
            branch = None
            if "party" in cp.orgs:
                branch = org_actions.create_organization(
                    actor=None,
                    kind=kind("compound_party_branch"),
                    node=estate,
                    name=f"{estate_name}党支部",
                    parent=committee,
                )
            estates[estate_name] = (estate, branch)
        estate, branch = estates[estate_name]
        lat = Decimal("34.7150") + Decimal(self.rng.randint(0, 4000)) / 100000
        lon = Decimal("113.6050") + Decimal(self.rng.randint(0, 5000)) / 100000
        court = self.node(
            estate,
            "courtyard",
            cp.name,
            address=cp.address,
            profile={
                "year_built": cp.year,
                "management": cp.management,
                "fees_collected": cp.fees,
                "latitude": lat,
                "longitude": lon,
                "notes": cp.notes,
            },
        )
        entrances = []
        for b_name, n_entrances, per_entrance in cp.buildings:
            building = self.node(court, "building", b_name)
            for e in range(1, n_entrances + 1):
                entrances.append((self.node(building, "entrance", f"{e}单元"), per_entrance))
        households = self.households(cp, entrances, ages)
        if cp.name == "油漆厂家属院":
            units = self.write_with_actions(court, households)
        else:
            units = self.write_in_bulk(court, households)
        actions.refresh_stats(court, today=self.ctx.today)
        self.organise(cp, court, estate, branch, units)

    def households(self, cp: CompoundPlan, entrances, ages: AgePlan) -> list[tuple[AreaNode, dict, Household | None]]:
        """(entrance, unit fields, household or None for an empty flat) for every unit of the compound."""
        rng, out, i = self.rng, [], 0
        for entrance, per_entrance in entrances:
            for k in range(per_entrance):
                floor, door = k // 2 + 1, k % 2 + 1
                fields = {"number": f"{floor}0{door}", "floor": floor, **synthetic.unit_areas(rng, 40, 120)}
                i += 1
                if cp.name == "正商蔚蓝港湾" and i % 12 == 0:  # the developer still holds these
                    status = Ownership.DeveloperStatus.UNSOLD if i % 24 == 0 else Ownership.DeveloperStatus.UNDELIVERED
                    out.append((entrance, fields, Household([PersonSpec("", person=self.developer)], [], status)))
                elif cp.name == "油漆厂家属院" and i % 7 == 3:  # the paint factory still owns its old staff flats
                    tenant = self.people.natural(ages.born())
                    out.append(
                        (
                            entrance,
                            fields,
                            Household(
                                [PersonSpec("", person=self.paint_factory)], [(tenant, Residence.Relation.TENANT)]
                            ),
                        )
                    )
                elif rng.random() > cp.occupied:
                    owner = self.people.natural(ages.born())
                    out.append((entrance, fields, Household([owner], [])))  # owned, empty
                else:
                    out.append((entrance, fields, self.people.household(ages)))
        return out

    def write_with_actions(self, court, households) -> list[Unit]:
        """Full detail: every unit, person, ownership and residence through its registry action."""
        units = []
        for entrance, fields, hh in households:
            unit = actions.create_unit(actor=None, node=entrance, compound=court, **fields)
            units.append(unit)
            for n, spec in enumerate(hh.owners):
                spec.person = spec.person or self.create_person(spec, unit.path)
                actions.add_ownership(
                    actor=None,
                    unit=unit,
                    person=spec.person,
                    designated_voter=n == 0,
                    developer_status=hh.developer_status,
                )
            for n, (spec, relation) in enumerate(hh.residents):
                spec.person = spec.person or self.create_person(spec, unit.path)
                actions.add_residence(
                    actor=None, unit=unit, person=spec.person, relation=relation, household_head=n == 0
                )
        return units

    def create_person(self, spec: PersonSpec, home_path: str) -> Person:
        if not self.demo_persons.get("resident") and spec.phone and spec.born.year < 1960:
            spec.phone = RESIDENT_PHONE  # the demo resident: an elderly owner in 油漆厂家属院
            person = actions.create_person(
                actor=None, name=spec.name, phone=spec.phone, id_number=spec.id_number, home_path=home_path
            )
            self.demo_persons["resident"] = person
            return person
        return actions.create_person(
            actor=None, name=spec.name, phone=spec.phone, id_number=spec.id_number, home_path=home_path
        )

    @transaction.atomic
    def write_in_bulk(self, court, households) -> list[Unit]:
        """The same rows in a few INSERTs, with one audit entry for the batch naming every row by id."""
        units = Unit.objects.bulk_create(
            [
                Unit(node=entrance, compound=court, path=entrance.path, resident_count=len(hh.residents), **fields)
                for entrance, fields, hh in households
            ]
        )
        specs = {}
        for unit, (_e, _f, hh) in zip(units, households, strict=True):
            for spec in [*hh.owners, *(s for s, _r in hh.residents)]:
                if spec.person is None and id(spec) not in specs:
                    p = Person(name=spec.name, phone=spec.phone, birth_date=spec.born, home_path=unit.path)
                    p.set_id_number(spec.id_number)
                    specs[id(spec)] = (spec, p)
        created = Person.objects.bulk_create([p for _s, p in specs.values()])
        for (spec, _p), person in zip(specs.values(), created, strict=True):
            spec.person = person
        ownerships, residences = [], []
        for unit, (_e, _f, hh) in zip(units, households, strict=True):
            ownerships += [
                Ownership(unit=unit, person=s.person, is_designated_voter=n == 0, developer_status=hh.developer_status)
                for n, s in enumerate(hh.owners)
            ]
            residences += [
                Residence(unit=unit, person=s.person, relation=r, is_household_head=n == 0)
                for n, (s, r) in enumerate(hh.residents)
            ]
        Ownership.objects.bulk_create(ownerships)
        Residence.objects.bulk_create(residences)
        audit.record(
            "demo.load",
            court,
            actor=None,
            changes={
                "units": [u.pk for u in units],
                "people": [p.pk for p in created],
                "ownerships": len(ownerships),
                "residences": len(residences),
            },
        )
        return units

    def organise(self, cp: CompoundPlan, court, estate, branch, units: list[Unit]) -> None:
        """The compound's organisations; liaisons for a share of its households (the rest show as uncovered)."""

        def members(n: int) -> list[Person]:
            people = list(
                Person.objects.filter(
                    residences__unit__compound=court,
                    kind=Person.Kind.NATURAL,
                    birth_date__lt=date(self.ctx.today.year - 30, 1, 1),
                )
                .order_by("pk")
                .distinct()[: n * 3]
            )
            return people[::3][:n] or people[:n]

        if "party" in cp.orgs and branch is not None:
            group = org_actions.create_organization(
                actor=None, kind=kind("courtyard_party_group"), node=court, name=f"{cp.name}党小组", parent=branch
            )
            people = members(3)
            if people:
                org_actions.add_member(
                    group, actor=None, person=people[0], role=Membership.Role.LEADER, is_party_member=True
                )
            households = [u for u in units if u.resident_count > 0]
            covered = households[: int(len(households) * cp.liaison_share)]
            liaisons = people[1:] or people[:1]
            for n, person in enumerate(liaisons):
                m = org_actions.add_member(
                    group, actor=None, person=person, role=Membership.Role.LIAISON, is_party_member=True
                )
                mine = covered[n :: len(liaisons)]
                if mine:
                    org_actions.assign_liaison(m, mine, actor=None)
                if cp.name == "油漆厂家属院" and n == 0:
                    self.demo_persons["liaison"] = person
        if "self" in cp.orgs:
            org_actions.create_organization(
                actor=None, kind=kind("courtyard_self_governance_group"), node=court, name=f"{cp.name}居民自治小组"
            )
        if "volunteer" in cp.orgs:
            org_actions.create_organization(
                actor=None, kind=kind("volunteer_team"), node=court, name=f"{cp.name}志愿服务队"
            )
        if "supervision" in cp.orgs and not Organization.objects.filter(node=estate, kind__code="supervision_group"):
            org_actions.create_organization(
                actor=None, kind=kind("supervision_group"), node=estate, name=f"{estate.name}议事监督小组"
            )
        if cp.name == "正商蔚蓝港湾":
            org_actions.create_organization(
                actor=None,
                kind=kind("property_company"),
                node=court,
                name="河南正商物业服务有限公司蔚蓝港湾项目部",
                legal_person=self.property_co,
            )
            org_actions.create_organization(
                actor=None, kind=kind("owners_committee"), node=estate, name="正商蔚蓝港湾业主委员会"
            )
        if cp.name == "航海小区一院":
            org_actions.create_organization(
                actor=None, kind=kind("owners_committee"), node=estate, name="航海小区业主委员会"
            )

    def pianqu(self) -> None:
        xinpu = self.ctx.node("福华街街道", "新圃西街社区")
        courts = list(
            AreaNode.objects.filter(
                path__startswith=xinpu.path, level__is_compound=True, name__startswith="豪邦花园"
            ).order_by("name")
        )
        actions.create_unit_set(
            actor=None,
            name="豪邦花园片区",
            kind=UnitSet.Kind.PIANQU,
            scope=courts[0].parent,
            nodes=courts,
            description="豪邦花园东、西、南、北四个1990年代楼院连片改造，楼院与其间道路一并治理（路院同治）。",
        )


# --- demo accounts -------------------------------------------------------------------------------------------
# (username, role, scope as names from the district down, password, linked person key or "")
DEMO_USERS = [
    ("district_admin", "district_admin", (), "Erqi-Admin-2026", ""),
    ("subdistrict_staff", "subdistrict_staff", ("福华街街道",), "Fuhua-Street-2026", ""),
    ("community_worker", "community_worker", ("福华街街道", "铁道家园社区"), "Tiedao-Worker-2026", ""),
    ("registry_officer", "registry_officer", ("福华街街道", "铁道家园社区"), "Tiedao-Ledger-2026", ""),
    ("hotline_operator", "hotline_operator", (), "Hotline-68989517", ""),
    (
        "party_liaison",
        "party_liaison",
        ("福华街街道", "铁道家园社区", "油漆厂家属院", "油漆厂家属院"),
        "Liaison-Paint-2026",
        "liaison",
    ),
    ("auditor", "auditor", (), "Audit-Trail-2026", ""),
    ("dispatcher", "dispatcher", (), "Bulky-Dispatch-2026", ""),
    ("crew", "crew", (), "Bulky-Crew-2026", ""),
    (
        "property_manager",
        "property_manager",
        ("大学路街道", "蔚蓝港湾社区", "正商蔚蓝港湾", "正商蔚蓝港湾"),
        "Weilan-Property-2026",
        "",
    ),
    ("resident", "resident", ("福华街街道", "铁道家园社区", "油漆厂家属院", "油漆厂家属院"), "", "resident"),
]


def totp_key(username: str) -> str:
    """A fixed TOTP secret per demo user (hex, 20 bytes), so the demo's codes are reproducible."""
    return hashlib.sha1(f"gongzhi-demo-totp:{username}".encode()).hexdigest()


def ensure_users(ctx: DemoContext, persons: dict[str, Person]) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    for username, role, scope, password, person_key in DEMO_USERS:
        node = ctx.node(*scope)
        user = User.objects.filter(username=username).first()
        if user is None:
            person = persons.get(person_key) if person_key else None
            if person_key == "resident" and person is None:
                person = Person.objects.filter(phone=RESIDENT_PHONE).first()
            user = User(
                username=username,
                display_name=f"演示：{ROLES[role].label}",
                person=person,
                phone=person.phone if person is not None and role == "resident" else "",
            )
            if password:
                validate_password(password, user)
                user.set_password(password)
            else:
                user.set_unusable_password()  # residents sign in with an SMS code
            user.save()
            RoleAssignment.objects.create(user=user, role=role, node=node)
            if role in roles_with("pii.unmasked"):
                TOTPDevice.objects.create(user=user, name="demo", key=totp_key(username), confirmed=True)
            audit.record("demo.create_user", user, actor=None, changes={"role": role, "node": node.pk})
        ctx.accounts.append(
            (username, str(ROLES[role].label), node.name, password or f"短信验证码 / SMS code ({RESIDENT_PHONE})")
        )


def totp_secret_b32(username: str) -> str:
    return base64.b32encode(bytes.fromhex(totp_key(username))).decode()


def load(ctx: DemoContext) -> None:
    """Core's part of the demo: the district, its people and organisations, and the demo accounts."""
    persons: dict[str, Person] = {}
    if ctx.district is None:
        with transaction.atomic():
            loader = DistrictLoader(ctx)
            loader.run()
            persons = loader.demo_persons
        ctx.say(
            f"已建立演示区 / demo district loaded: {ctx.district.unit_count} 户 units, "
            f"{ctx.district.compound_count} 个楼院 compounds, {ctx.district.resident_count} 位居民 residents"
        )
    else:
        ctx.say("演示区已存在，跳过 / demo district already loaded, skipping")
    with transaction.atomic():
        ensure_users(ctx, persons)
    ctx.notes += [
        "registry_officer 与 district_admin 需第二因素：python manage.py demo_otp registry_officer 打印当前6位动态码 / "
        "they need a second factor: `python manage.py demo_otp registry_officer` prints the current 6-digit code "
        f"(authenticator secret: {totp_secret_b32('registry_officer')})",
        "演示账号已绑定验证器；新账号绑定时需管理员签发的8位绑定码：district_admin 在 /staff/second-factor/ 签发，或 "
        "python manage.py enrolment_code 用户名 / demo accounts are enrolled already; a new account enrols only with "
        "an 8-digit enrolment code that district_admin issues at /staff/second-factor/ (or `python manage.py "
        "enrolment_code USERNAME`)",
        f"居民用短信登录 /accounts/sms/，手机号 {RESIDENT_PHONE}，验证码见 var/sms-outbox.jsonl / residents sign in "
        f"by SMS at /accounts/sms/ with {RESIDENT_PHONE}; the code is written to var/sms-outbox.jsonl (FileBackend)",
    ]
