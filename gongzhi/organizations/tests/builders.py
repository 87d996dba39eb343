"""A small district for the organisation tests: three 楼院 in one community with known coverage.

铁道家园社区 (mini.community)
  油漆厂家属院 (estate) › 油漆厂家属院 (courtyard C1): party branch at the estate, party group, self-governance
      group and volunteer team at the courtyard → all three kinds. 3 households (units 0–2), liaison for 0 and 1.
  铁路小区 (estate) › 铁路小区一院 (courtyard C2): party branch at the estate, self-governance group at the
      courtyard, no volunteers. 2 households of 4 units, liaison (of the estate's branch) for one.
  电厂小区 (estate) › 电厂小区 (courtyard C3): nothing of its own. 2 households, no liaison.
The community itself holds the 社区大党委 and the 居委会, which must NOT count as covering any compound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gongzhi.organizations import actions
from gongzhi.organizations.models import Membership, Organization, OrgKind
from gongzhi.registry import actions as registry
from gongzhi.registry.models import AreaNode, CompoundProfile, Unit
from testkit import world as testing


def kind(code: str) -> OrgKind:
    return OrgKind.objects.get(code=code)


def make_org(
    code: str, node: AreaNode, name: str | None = None, parent: Organization | None = None, **kw
) -> Organization:
    return actions.create_organization(
        actor=None, kind=kind(code), node=node, name=name or f"{node.name}{kind(code).name}", parent=parent, **kw
    )


def resident(unit: Unit, name: str, phone: str = "13900001111"):
    person = registry.create_person(actor=None, name=name, phone=phone, home_path=unit.path)
    registry.add_residence(actor=None, unit=unit, person=person, relation="owner", household_head=True)
    return person


def courtyard(parent: AreaNode, name: str, units: int) -> tuple[AreaNode, list[Unit]]:
    court = registry.create_area_node(
        actor=None,
        parent=parent,
        level=testing.level("courtyard"),
        name=name,
        profile={"management": CompoundProfile.Management.UNMANAGED},
    )
    bld = registry.create_area_node(actor=None, parent=court, level=testing.level("building"), name="1号楼")
    made = [registry.create_unit(actor=None, node=bld, number=f"10{i + 1}") for i in range(units)]
    return court, made


@dataclass
class CoverageDistrict:
    mini: testing.MiniDistrict
    c1: AreaNode
    c2: AreaNode
    c3: AreaNode
    committee: Organization
    branch1: Organization
    group1: Organization
    branch2: Organization
    liaison1: Membership
    liaison2: Membership
    c2_units: list[Unit] = field(default_factory=list)
    c3_units: list[Unit] = field(default_factory=list)


def build_coverage_district(mini: testing.MiniDistrict) -> CoverageDistrict:
    com = mini.community
    est2 = registry.create_area_node(actor=None, parent=com, level=testing.level("estate"), name="铁路小区")
    est3 = registry.create_area_node(actor=None, parent=com, level=testing.level("estate"), name="电厂小区")
    c2, c2_units = courtyard(est2, "铁路小区一院", 4)
    c3, c3_units = courtyard(est3, "电厂小区", 2)

    committee = make_org("community_party_committee", com, "铁道家园社区大党委")
    make_org("residents_committee", com, "铁道家园社区居民委员会")
    branch1 = make_org("compound_party_branch", mini.estate, "油漆厂家属院党支部", parent=committee)
    group1 = make_org("courtyard_party_group", mini.courtyard, "油漆厂家属院党小组", parent=branch1)
    make_org("courtyard_self_governance_group", mini.courtyard, "油漆厂家属院自治小组")
    make_org("volunteer_team", mini.courtyard, "油漆厂家属院志愿服务队")
    branch2 = make_org("compound_party_branch", est2, "铁路小区党支部", parent=committee)
    make_org("courtyard_self_governance_group", c2, "铁路小区一院自治小组")
    # A dissolved volunteer team must not count for C2.
    old = make_org("volunteer_team", c2, "已解散的志愿队")
    actions.dissolve_organization(old, actor=None)

    # Households: C1 unit 0 already has three residents; give units 1 and 2 one each.
    resident(mini.units[1], "赵大爷")
    resident(mini.units[2], "钱阿姨")
    resident(c2_units[0], "孙师傅")
    resident(c2_units[1], "李奶奶")
    resident(c3_units[0], "周先生")
    resident(c3_units[1], "吴女士")
    for court in (mini.courtyard, c2, c3):
        registry.refresh_stats(court)

    p1 = registry.create_person(actor=None, name="郑红梅", phone="13700002222", home_path=mini.units[0].path)
    liaison1 = actions.add_member(group1, actor=None, person=p1, role="liaison", is_party_member=True)
    # Unit 3 has no residents: assigning it does not make a household.
    actions.assign_liaison(liaison1, [mini.units[0], mini.units[1], mini.units[3]], actor=None)
    p2 = registry.create_person(actor=None, name="王建军", phone="13700003333", home_path=c2_units[0].path)
    liaison2 = actions.add_member(branch2, actor=None, person=p2, role="liaison", is_party_member=True)
    actions.assign_liaison(liaison2, [c2_units[0]], actor=None)
    return CoverageDistrict(
        mini, mini.courtyard, c2, c3, committee, branch1, group1, branch2, liaison1, liaison2, c2_units, c3_units
    )


def add_bulk(committee: Organization, compounds: int, units_each: int, prefix: str = "扩展") -> None:
    """More compounds with households under the committee's community (for query budgets at a second size)."""
    est = registry.create_area_node(
        actor=None, parent=committee.node, level=testing.level("estate"), name=f"{prefix}小区"
    )
    make_org("compound_party_branch", est, f"{prefix}小区党支部", parent=committee)
    for i in range(compounds):
        court, units = courtyard(est, f"{prefix}{i + 1}院", units_each)
        make_org("volunteer_team", court)
        for j, u in enumerate(units):
            resident(u, f"居民{i}{j}")
        registry.refresh_stats(court)
