"""Named builders for renovation tests: the mini district's 楼院 with a menu, a project and its people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from gongzhi.organizations.models import Membership, Organization, OrgKind
from gongzhi.registry import actions as registry
from gongzhi.registry.models import Person, UnitSet
from gongzhi.renovation import actions
from gongzhi.renovation.models import MenuCategory, MenuItem, Project
from testkit import world as testing


@dataclass
class Scene:
    mini: testing.MiniDistrict
    officer: object  # community worker at the community (renovation.manage)
    operator: object  # hotline operator at the community (renovation.take_orders)
    inspector: object  # subdistrict staff (renovation.inspect)
    contractor_user: object  # contractor role, member of the project's contractor
    other_contractor: object  # contractor role in scope, member of another contractor
    supervisor_user: object  # resident, member of the 议事监督小组
    resident: object  # owner of units[1]
    resident_person: Person
    outsider: object  # resident of the other subdistrict
    pipes: MenuItem
    lift: MenuItem
    meter: MenuItem
    project: Project


def organization(kind: str, node, name: str) -> Organization:
    return Organization.objects.create(kind=OrgKind.objects.get(code=kind), name=name, node=node)


def member_user(org: Organization, username: str, role: str | None, node) -> object:
    person = Person.objects.create(name=username, home_path=org.node.path)
    Membership.objects.create(organization=org, person=person, role=Membership.Role.MEMBER)
    user = testing.make_user(username, role, node)
    user.person = person
    user.save()
    return user


def resident_user(unit, username: str, name: str = "赵桂兰"):
    person = registry.create_person(actor=None, name=name, home_path=unit.path)
    registry.add_residence(actor=None, unit=unit, person=person, relation="owner")
    user = testing.make_user(username, "resident", unit.compound)
    user.person = person
    user.save()
    return user, person


def menu(district) -> tuple[MenuItem, MenuItem, MenuItem]:
    basic = MenuCategory.objects.get(code="basic", district__isnull=True)
    better = MenuCategory.objects.get(code="improvement", district__isnull=True)
    pipes = actions.create_menu_item(
        actor=None,
        district=district,
        category=basic,
        code="pipes",
        name="供排水管网改造",
        coverage="building",
        unit_cost="800.00",
        cost_basis="per_household",
        share_basis="household",
        pct_subsidy=80,
        pct_residents=20,
        consent_numerator=4,
        consent_denominator=5,
    )
    lift = actions.create_menu_item(
        actor=None,
        district=district,
        category=better,
        code="lift",
        name="加装电梯",
        coverage="entrance",
        unit_cost="600000.00",
        cost_basis="lump_sum",
        share_basis="floor_area",
        floor_coefficients={"2": "0.5", "3": "0.7"},
        pct_subsidy=75,
        pct_residents=25,
        household_cap="20000.00",
        consent="owners_vote",
        matter="alter_rebuild",
    )
    meter = actions.create_menu_item(
        actor=None,
        district=district,
        category=basic,
        code="meter",
        name="一户一表改造",
        coverage="unit",
        unit_cost="300.00",
        cost_basis="per_household",
        share_basis="household",
        pct_residents=100,
        consent_numerator=1,
        consent_denominator=1,
        depends_on=[pipes],
    )
    return pipes, lift, meter


def build_scene(mini) -> Scene:
    officer = testing.make_user("worker", "community_worker", mini.community)
    operator = testing.make_user("operator", "hotline_operator", mini.community)
    inspector = testing.make_user("inspector", "subdistrict_staff", mini.subdistrict)
    builder = organization("contractor", mini.community, "郑州建工")
    rival = organization("contractor", mini.community, "别家建工")
    group = organization("supervision_group", mini.courtyard, "油漆厂家属院议事监督小组")
    contractor_user = member_user(builder, "builder", "contractor", mini.community)
    other_contractor = member_user(rival, "rival", "contractor", mini.community)
    supervisor_user = member_user(group, "watcher", "resident", mini.courtyard)
    resident, person = resident_user(mini.units[1], "resident")
    outsider, _ = resident_user(mini.other_units[0], "outsider", "孙外人")
    pipes, lift, meter = menu(mini.district)
    unit_set = registry.create_unit_set(
        actor=None, name="油漆厂家属院全院", kind=UnitSet.Kind.COMPOUND, scope=mini.courtyard, nodes=[mini.courtyard]
    )
    project = actions.create_project(
        actor=officer,
        name="油漆厂家属院综合改造",
        unit_set=unit_set,
        menu=[pipes, lift, meter],
        budget="700000.00",
        contractor=builder,
        supervisor=group,
    )
    return Scene(
        mini,
        officer,
        operator,
        inspector,
        contractor_user,
        other_contractor,
        supervisor_user,
        resident,
        person,
        outsider,
        pipes,
        lift,
        meter,
        project,
    )


def to_works(scene: Scene) -> Project:
    """Order nothing, adopt the plan, start works, with one work item."""
    p = scene.project
    actions.adopt_plan(p, actor=scene.officer)
    actions.start_works(p, actor=scene.officer)
    actions.add_work_item(p, actor=scene.officer, external_id="W1", name="屋面防水", budget="100000.00")
    return p


def soon(days: int = 7):
    return timezone.localdate() + timedelta(days=days)


def money(text: str) -> Decimal:
    return Decimal(text)
