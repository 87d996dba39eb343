"""Named builders for deliberation tests: a matter over the mini district's courtyard, its people and bodies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gongzhi.deliberation import actions
from gongzhi.deliberation.models import Matter
from gongzhi.organizations.models import Membership, Organization, OrgKind
from gongzhi.registry import actions as registry
from gongzhi.registry.models import Person, UnitSet
from testkit import world as testing


@dataclass
class Scene:
    mini: testing.MiniDistrict
    officer: object  # community worker at the community
    matter: Matter
    resident: object  # a signed-in resident of unit 0
    resident_person: Person
    operator: object  # hotline operator at the community
    branch: Organization
    secretary: object  # signed-in secretary of the compound party branch
    outsider: object  # a resident of the other subdistrict


def courtyard_set(mini) -> UnitSet:
    return registry.create_unit_set(
        actor=None, name="油漆厂家属院全院", kind=UnitSet.Kind.COMPOUND, scope=mini.courtyard, nodes=[mini.courtyard]
    )


def organization(kind: str, node, name: str) -> Organization:
    return Organization.objects.create(kind=OrgKind.objects.get(code=kind), name=name, node=node)


def member(org: Organization, name: str, role: str = Membership.Role.MEMBER, username: str | None = None):
    person = Person.objects.create(name=name, home_path=org.node.path)
    Membership.objects.create(organization=org, person=person, role=role, is_party_member=True)
    user = None
    if username:
        user = testing.make_user(username)
        user.person = person
        user.save()
    return person, user


def resident_user(unit, username: str, name: str = "赵桂兰"):
    person = registry.create_person(actor=None, name=name, home_path=unit.path)
    registry.add_residence(actor=None, unit=unit, person=person, relation="owner")
    user = testing.make_user(username, "resident", unit.compound)
    user.person = person
    user.save()
    return user, person


def build_scene(mini, *, today: date | None = None) -> Scene:
    officer = testing.make_user("worker", "community_worker", mini.community)
    operator = testing.make_user("operator", "hotline_operator", mini.community)
    matter = actions.create_matter(
        actor=officer,
        title="油漆厂家属院加装电梯",
        unit_set=courtyard_set(mini),
        summary="征求全院居民对加装电梯的意见",
        today=today,
    )
    resident, person = resident_user(mini.units[1], "resident")
    branch = organization("compound_party_branch", mini.estate, "油漆厂家属院党支部")
    _p, secretary = member(branch, "刘书记", Membership.Role.SECRETARY, "secretary")
    member(branch, "陈党员", Membership.Role.REPRESENTATIVE)
    outsider, _ = resident_user(mini.other_units[0], "outsider", "孙外人")
    return Scene(mini, officer, matter, resident, person, operator, branch, secretary, outsider)
