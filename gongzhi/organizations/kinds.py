"""The few organisation kinds and levels the code refers to by code (the rows themselves are data), and the rule
for which organisations are a compound's own."""

COMMUNITY_PARTY_COMMITTEE = "community_party_committee"  # 社区大党委
COMPOUND_PARTY_BRANCH = "compound_party_branch"  # 小区党支部
COURTYARD_PARTY_GROUP = "courtyard_party_group"  # 楼院党小组
PARTY_LIAISON = "party_liaison"  # 党员联络员 — tier 4 of the chain, held as a Membership role, not an organisation

# The level whose organisations do NOT count as covering a compound (the community party committee and the
# residents' committee serve the whole community; coverage asks for organisations in the compound itself).
COMMUNITY_LEVEL = "community"

# The 三类组织 the coverage report checks, in display order.
COVERAGE_CATEGORIES = ("party", "self_governance", "volunteer")


def serves_compound(org_depth: int, *, community_depth: int | None, compound_depth: int | None) -> bool:
    """Does an organisation sitting on a compound or on one of its ancestors, at `org_depth`, count as the
    compound's own for the 三类组织? The one rule behind the compound page (registry) and the coverage report
    (`selectors._has_category`, the same rule in SQL): yes below the community level — on the compound or its
    小区 — and no at the community or above, whose organisations (社区大党委, the residents' committee) serve
    many compounds. Without a community level configured, only the compound's own level and below count."""
    if community_depth is not None:
        return org_depth > community_depth
    return compound_depth is not None and org_depth >= compound_depth
