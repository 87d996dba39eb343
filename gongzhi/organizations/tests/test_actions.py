import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from gongzhi.core.models import AuditEntry
from gongzhi.organizations import actions, selectors
from gongzhi.organizations.models import LiaisonAssignment, OrgKind
from gongzhi.organizations.tests.builders import build_coverage_district, kind, make_org, resident
from gongzhi.registry import actions as registry


@pytest.fixture
def cov(mini):
    return build_coverage_district(mini)


def errors_of(excinfo) -> dict:
    return excinfo.value.message_dict


# --- seed ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_kinds_exist_with_the_1_plus_4_chain():
    chain = list(OrgKind.objects.filter(chain_rank__isnull=False).order_by("chain_rank"))
    assert [(k.name, k.chain_rank, k.expected_level) for k in chain] == [
        ("社区大党委", 1, "community"),
        ("小区党支部", 2, "estate"),
        ("楼院党小组", 3, "courtyard"),
        ("党员联络员", 4, ""),
    ]
    assert [k.parent_kind.code if k.parent_kind else None for k in chain] == [
        None,
        "community_party_committee",
        "compound_party_branch",
        "courtyard_party_group",
    ]
    categories = dict(OrgKind.objects.values_list("code", "category"))
    assert categories["volunteer_team"] == "volunteer"
    assert categories["supervision_group"] == categories["residents_committee"] == "self_governance"
    assert categories["owners_committee"] == "management"
    assert categories["property_company"] == categories["contractor"] == categories["resident_unit"] == "market"
    assert OrgKind.objects.get(code="temporary_party_branch").is_temporary
    assert kind("resident_unit").parent_kind.code == "community_party_committee"  # 驻区单位 join the 大党委


# --- chain validation ----------------------------------------------------------------------------------


def test_courtyard_group_needs_a_compound_branch_as_parent(cov):
    with pytest.raises(ValidationError) as e:
        make_org("courtyard_party_group", cov.c3, "电厂小区党小组", parent=cov.committee)
    (msg,) = errors_of(e)["parent"]
    assert "楼院党小组的上级组织必须是小区党支部" in msg and "/ the parent of a courtyard party group" in msg
    with pytest.raises(ValidationError) as e:
        make_org("courtyard_party_group", cov.c3, "电厂小区党小组")
    assert "必须有上级组织" in errors_of(e)["parent"][0]


def test_level_must_match_the_kinds_expected_level(cov):
    with pytest.raises(ValidationError) as e:
        make_org("compound_party_branch", cov.c3, "错层党支部", parent=cov.committee)
    (msg,) = errors_of(e)["node"]
    assert "小区党支部应设在“小区”一级" in msg and "“楼院”" in msg and "estate level" in msg


def test_parent_must_contain_the_node(cov):
    with pytest.raises(ValidationError) as e:
        make_org("courtyard_party_group", cov.c3, "电厂小区党小组", parent=cov.branch2)  # branch2 is at 铁路小区
    assert "上级组织所在区域必须包含本组织所在区域" in errors_of(e)["parent"][0]


def test_liaison_is_a_role_not_an_organisation(cov):
    with pytest.raises(ValidationError) as e:
        make_org("party_liaison", cov.c3, "联络员")
    assert "kind" in errors_of(e)


def test_temporary_branch_needs_its_project(cov):
    with pytest.raises(ValidationError) as e:
        make_org("temporary_party_branch", cov.mini.community, "改造临时党支部", parent=cov.committee)
    assert "project_ref" in errors_of(e)
    org = make_org(
        "temporary_party_branch",
        cov.c3,
        "电厂小区改造临时党支部",
        parent=cov.committee,
        project_ref="2026-老旧小区改造-07",
    )
    assert org.kind.is_temporary and org.path == cov.c3.path


def test_create_writes_audit_and_name_is_required(cov):
    with pytest.raises(ValidationError) as e:
        make_org("volunteer_team", cov.c3, "  ")
    assert "name" in errors_of(e)
    org = make_org("volunteer_team", cov.c3, "电厂志愿服务队")
    assert AuditEntry.objects.filter(action="organizations.create", target_id=str(org.pk)).exists()


# --- permissions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role,where,allowed",
    [
        ("community_worker", "community", True),
        ("subdistrict_staff", "subdistrict", True),
        ("community_worker", "other_subdistrict", False),
        ("hotline_operator", "community", False),
        ("resident", "community", False),
    ],
)
def test_create_permission_matrix(cov, persona, role, where, allowed):
    actor = persona(role, getattr(cov.mini, where))
    call = lambda: actions.create_organization(  # noqa: E731
        actor=actor, kind=kind("volunteer_team"), node=cov.c3, name="电厂志愿服务队"
    )
    if allowed:
        assert call().pk
    else:
        with pytest.raises(PermissionDenied):
            call()


# --- members and liaisons ------------------------------------------------------------------------------


def test_liaison_must_be_a_party_member_of_a_party_organisation(cov):
    person = registry.create_person(actor=None, name="褚卫东", home_path=cov.c3_units[0].path)
    with pytest.raises(ValidationError) as e:
        actions.add_member(cov.group1, actor=None, person=person, role="liaison")
    assert "is_party_member" in errors_of(e)
    volunteers = make_org("volunteer_team", cov.c3, "电厂志愿服务队")
    with pytest.raises(ValidationError) as e:
        actions.add_member(volunteers, actor=None, person=person, role="liaison", is_party_member=True)
    assert "role" in errors_of(e)


def test_only_a_current_liaison_gets_households(cov):
    person = registry.create_person(actor=None, name="褚卫东", home_path=cov.mini.units[0].path)
    member = actions.add_member(cov.group1, actor=None, person=person, role="member", is_party_member=True)
    with pytest.raises(ValidationError) as e:
        actions.assign_liaison(member, [cov.mini.units[2]], actor=None)
    assert "liaison" in errors_of(e)
    actions.end_membership(cov.liaison1, actor=None)
    with pytest.raises(ValidationError) as e:
        actions.assign_liaison(cov.liaison1, [cov.mini.units[2]], actor=None)
    assert "已离任" in errors_of(e)["liaison"][0]


def test_units_must_lie_within_the_organisations_node(cov):
    with pytest.raises(ValidationError) as e:
        actions.assign_liaison(cov.liaison1, [cov.c3_units[0]], actor=None)
    assert "不在本组织所在区域内" in errors_of(e)["units"][0]
    assert not LiaisonAssignment.objects.filter(unit=cov.c3_units[0]).exists()  # nothing half-written


def test_reassigning_ends_the_old_liaison_and_keeps_one_current(cov):
    unit = cov.c2_units[0]  # liaison2's
    person = registry.create_person(actor=None, name="蒋桂英", home_path=unit.path)
    group = make_org("courtyard_party_group", cov.c2, "铁路小区一院党小组", parent=cov.branch2)
    new = actions.add_member(group, actor=None, person=person, role="liaison", is_party_member=True)
    actions.assign_liaison(new, [unit, cov.c2_units[1]], actor=None)
    current = LiaisonAssignment.objects.filter(unit=unit, until__isnull=True)
    assert [a.liaison_id for a in current] == [new.pk]
    old = LiaisonAssignment.objects.get(unit=unit, liaison=cov.liaison2)
    assert old.until is not None
    assert selectors.coverage_for(cov.mini.community).rows  # still consistent
    row = next(r for r in selectors.coverage_for(cov.mini.community) if r.compound_id == cov.c2.pk)
    assert row.households_without_liaison == 0
    # Assigning again to the same liaison is a no-op, not a duplicate.
    assert actions.assign_liaison(new, [unit], actor=None) == []


def test_the_database_refuses_two_current_liaisons_for_a_unit(cov):
    with pytest.raises(IntegrityError), transaction.atomic():
        LiaisonAssignment.objects.create(liaison=cov.liaison2, unit=cov.mini.units[0])


def test_unassign_and_end_membership_release_households(cov):
    assert actions.unassign_liaison(cov.liaison1, [cov.mini.units[0]], actor=None) == 1
    row = next(r for r in selectors.coverage_for(cov.mini.community) if r.compound_id == cov.c1.pk)
    assert row.households_without_liaison == 2
    actions.end_membership(cov.liaison1, actor=None)
    row = next(r for r in selectors.coverage_for(cov.mini.community) if r.compound_id == cov.c1.pk)
    assert row.households_without_liaison == 3


def test_dissolve_ends_members_and_refuses_with_live_children(cov):
    with pytest.raises(ValidationError):
        actions.dissolve_organization(cov.branch1, actor=None)  # group1 is still there
    actions.dissolve_organization(cov.group1, actor=None)
    cov.liaison1.refresh_from_db()
    assert cov.liaison1.until is not None
    row = next(r for r in selectors.coverage_for(cov.mini.community) if r.compound_id == cov.c1.pk)
    assert row.has_party  # the estate's branch still covers the courtyard
    assert row.households_without_liaison == 3


def test_new_household_shows_up_without_liaison(cov):
    resident(cov.c3_units[0], "新住户")  # same unit: still one household
    registry.refresh_stats(cov.c3)
    row = next(r for r in selectors.coverage_for(cov.mini.community) if r.compound_id == cov.c3.pk)
    assert (row.households, row.households_without_liaison) == (2, 2)


def test_organizations_at_a_compound(cov):
    names = [o.name for o in selectors.organizations_at(cov.c1)]
    assert names[0] == "铁道家园社区大党委" or names[0] == "铁道家园社区居民委员会"
    assert {"油漆厂家属院党支部", "油漆厂家属院党小组", "油漆厂家属院志愿服务队"} <= set(names)
    assert "铁路小区党支部" not in names
