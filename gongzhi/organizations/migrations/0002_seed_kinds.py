"""Erqi's organisation kinds, as data: the 三类组织, the "1+4" party chain and the other bodies in a compound.

A district edits these rows (names, levels, chain) like any other configuration; the code refers to a few of
them by code (see gongzhi.organizations.kinds).
"""

from django.db import migrations

# code, name, name_en, category, chain_rank, parent_kind code, expected level code, is_temporary
KINDS = [
    # The "1+4" party chain: 社区大党委 → 小区党支部 → 楼院党小组 → 党员联络员 (a member role, shown as tier 4).
    ("community_party_committee", "社区大党委", "Community party committee", "party", 1, None, "community", False),
    ("compound_party_branch", "小区党支部", "Compound party branch", "party", 2, "community_party_committee", "estate", False),
    ("courtyard_party_group", "楼院党小组", "Courtyard party group", "party", 3, "compound_party_branch", "courtyard", False),
    ("party_liaison", "党员联络员", "Party-member liaison", "party", 4, "courtyard_party_group", "", False),
    ("temporary_party_branch", "临时党支部", "Temporary party branch", "party", None, "community_party_committee", "", True),
    # Residents' self-governance and supervision.
    ("residents_committee", "居民委员会", "Residents' committee", "self_governance", None, None, "community", False),
    ("courtyard_self_governance_group", "楼院居民自治小组", "Courtyard residents' self-governance group", "self_governance", None, None, "", False),
    ("residents_council", "居民议事会", "Residents' council", "self_governance", None, None, "", False),
    ("supervision_group", "议事监督小组", "Deliberation and supervision group", "self_governance", None, None, "", False),
    # Volunteers.
    ("volunteer_team", "志愿服务队", "Volunteer team", "volunteer", None, None, "", False),
    # Owners and management.
    ("owners_committee", "业主委员会", "Owners' committee", "management", None, None, "", False),
    # Companies and units; 驻区单位 join the community party committee as member organisations.
    ("property_company", "物业服务企业", "Property service company", "market", None, None, "", False),
    ("contractor", "施工单位", "Construction contractor", "market", None, None, "", False),
    ("resident_unit", "驻区单位", "Unit based in the area", "market", None, "community_party_committee", "", False),
]


def seed(apps, schema_editor):
    OrgKind = apps.get_model("organizations", "OrgKind")
    by_code = {}
    for code, name, name_en, category, rank, parent, level, temporary in KINDS:
        kind, _ = OrgKind.objects.update_or_create(
            code=code,
            defaults={
                "name": name, "name_en": name_en, "category": category, "chain_rank": rank,
                "parent_kind": by_code.get(parent), "expected_level": level, "is_temporary": temporary,
            },
        )
        by_code[code] = kind


def unseed(apps, schema_editor):
    OrgKind = apps.get_model("organizations", "OrgKind")
    OrgKind.objects.filter(code__in=[k[0] for k in KINDS], organizations__isnull=True).update(parent_kind=None)
    OrgKind.objects.filter(code__in=[k[0] for k in KINDS], organizations__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("organizations", "0001_initial"), ("registry", "0002_seed_levels")]
    operations = [migrations.RunPython(seed, unseed)]
