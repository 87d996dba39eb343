"""Named personas and a small district for tests (no fixtures dumped from a database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from gongzhi.core.models import RoleAssignment, User
from gongzhi.registry import actions
from gongzhi.registry.models import AreaLevel, AreaNode, CompoundProfile, Unit

PASSWORD = "Gongzhi-2026!"


def level(code: str) -> AreaLevel:
    return AreaLevel.objects.get(code=code)


def make_user(username: str, role: str | None = None, node: AreaNode | None = None, **kw) -> User:
    user = User.objects.create_user(
        username=username, password=PASSWORD, display_name=kw.pop("display_name", username), **kw
    )
    if role:
        RoleAssignment.objects.create(user=user, role=role, node=node)
    return user


@dataclass
class MiniDistrict:
    district: AreaNode
    subdistrict: AreaNode
    community: AreaNode
    estate: AreaNode
    courtyard: AreaNode
    building: AreaNode
    entrance: AreaNode
    units: list[Unit] = field(default_factory=list)
    other_subdistrict: AreaNode | None = None
    other_courtyard: AreaNode | None = None
    other_units: list[Unit] = field(default_factory=list)


def build_mini_district(units_per_entrance: int = 6) -> MiniDistrict:
    """二七区 → 福华街街道 → 铁道家园社区 → 油漆厂家属院 (one 楼院) → 1号楼 → 1单元, and a second subdistrict."""
    mk = actions.create_area_node
    district = mk(actor=None, parent=None, level=level("district"), name="二七区")
    sub = mk(actor=None, parent=district, level=level("subdistrict"), name="福华街街道")
    com = mk(actor=None, parent=sub, level=level("community"), name="铁道家园社区")
    est = mk(actor=None, parent=com, level=level("estate"), name="油漆厂家属院", address="福华街12号")
    court = mk(
        actor=None,
        parent=est,
        level=level("courtyard"),
        name="油漆厂家属院",
        address="福华街12号",
        profile={
            "year_built": 1986,
            "management": CompoundProfile.Management.UNMANAGED,
            "fees_collected": False,
            "latitude": Decimal("34.737200"),
            "longitude": Decimal("113.640100"),
        },
    )
    bld = mk(actor=None, parent=court, level=level("building"), name="1号楼")
    ent = mk(actor=None, parent=bld, level=level("entrance"), name="1单元")
    units = [
        actions.create_unit(
            actor=None,
            node=ent,
            number=f"{(i // 2) + 1}0{(i % 2) + 1}",
            floor=(i // 2) + 1,
            area_registered=Decimal("62.50") + i,
        )
        for i in range(units_per_entrance)
    ]
    other_sub = mk(actor=None, parent=district, level=level("subdistrict"), name="大学路街道")
    other_com = mk(actor=None, parent=other_sub, level=level("community"), name="桃源路社区")
    other_est = mk(actor=None, parent=other_com, level=level("estate"), name="桃源路47号院")
    other_court = mk(
        actor=None,
        parent=other_est,
        level=level("courtyard"),
        name="桃源路47号院",
        profile={"year_built": 1992, "management": CompoundProfile.Management.COMMUNITY},
    )
    other_bld = mk(actor=None, parent=other_court, level=level("building"), name="2号楼")
    other_units = [
        actions.create_unit(actor=None, node=other_bld, number=f"10{i + 1}", area_contract=Decimal("55.00"))
        for i in range(3)
    ]
    for p, born in (("张建国", date(1941, 3, 2)), ("李秀英", date(1958, 7, 9)), ("王小明", date(1990, 1, 1))):
        person = actions.create_person(
            actor=None, name=p, phone="13812345678", birth_date=born, home_path=units[0].path
        )
        actions.add_residence(actor=None, unit=units[0], person=person, relation="owner")
    actions.refresh_stats(court)
    actions.refresh_stats(other_court)
    return MiniDistrict(district, sub, com, est, court, bld, ent, units, other_sub, other_court, other_units)
