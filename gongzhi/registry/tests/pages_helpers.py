"""Shared builders for the registry page, API and permission tests: sign-in with a second factor, bigger data."""

from __future__ import annotations

from decimal import Decimal

from django_otp.plugins.otp_totp.models import TOTPDevice

from gongzhi.core.rules import needs_second_factor
from gongzhi.organizations.models import Organization, OrgKind
from gongzhi.registry import actions
from testkit import world as testing

FULL_PHONE = "13812345678"
MASKED_PHONE = "138****5678"
ID_NUMBER = "11010519491231002X"  # a valid test number (GB 11643 check digit)


def sign_in(client, user, *, verified: bool = True) -> None:
    """Sign in; for roles that need it, pass the second factor the way core.views.otp does (django_otp.login)."""
    client.force_login(user)
    if verified and needs_second_factor(user):
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session["otp_device_id"] = device.persistent_id  # what django_otp.login() stores
        session.save()


def token_for(user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=user).key


def add_owner(unit, name: str = "张建华", phone: str = FULL_PHONE, id_number: str = ID_NUMBER, **kw):
    person = actions.create_person(actor=None, name=name, phone=phone, id_number=id_number, home_path=unit.path)
    actions.add_ownership(actor=None, unit=unit, person=person, **kw)
    return person


def org_kind(code: str, name: str, category: str) -> OrgKind:
    kind, _ = OrgKind.objects.get_or_create(code=code, defaults={"name": name, "name_en": code, "category": category})
    return kind


def add_orgs(mini) -> None:
    """A community party committee (above the compound), a courtyard party group and a volunteer team in it.

    Test data only: no organisation action is exercised here, so rows are created directly.
    """
    Organization.objects.create(
        kind=org_kind("t_committee", "社区大党委", "party"), name="铁道家园社区大党委", node=mini.community
    )
    Organization.objects.create(
        kind=org_kind("t_group", "楼院党小组", "party"), name="油漆厂楼院党小组", node=mini.courtyard
    )
    Organization.objects.create(
        kind=org_kind("t_volunteers", "志愿服务队", "volunteer"), name="红马甲志愿队", node=mini.courtyard
    )


def grow(mini, *, units: int, compounds: int) -> None:
    """More of everything in the mini district's community: `units` owned units in 1号楼 1单元, and
    `compounds` extra 小区 each with one 楼院 — for query budgets measured at two sizes."""
    for i in range(units):
        unit = actions.create_unit(actor=None, node=mini.entrance, number=f"9{i:03d}", area_surveyed=Decimal("50.00"))
        person = actions.create_person(
            actor=None, name=f"赵{i}", phone=FULL_PHONE, home_path=unit.path
        )  # one family phone
        actions.add_ownership(actor=None, unit=unit, person=person, designated_voter=True)
    for i in range(compounds):
        est = actions.create_area_node(
            actor=None, parent=mini.community, level=testing.level("estate"), name=f"新村{i:02d}"
        )
        actions.create_area_node(
            actor=None,
            parent=est,
            level=testing.level("courtyard"),
            name=f"新村{i:02d}",
            profile={"year_built": 1990, "management": "community"},
        )
    add_orgs(mini)
