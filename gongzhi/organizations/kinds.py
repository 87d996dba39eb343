"""The few organisation kinds and levels the code refers to by code (the rows themselves are data)."""

COMMUNITY_PARTY_COMMITTEE = "community_party_committee"  # 社区大党委
COMPOUND_PARTY_BRANCH = "compound_party_branch"  # 小区党支部
COURTYARD_PARTY_GROUP = "courtyard_party_group"  # 楼院党小组
PARTY_LIAISON = "party_liaison"  # 党员联络员 — tier 4 of the chain, held as a Membership role, not an organisation

# The level whose organisations do NOT count as covering a compound (the community party committee and the
# residents' committee serve the whole community; coverage asks for organisations in the compound itself).
COMMUNITY_LEVEL = "community"

# The 三类组织 the coverage report checks, in display order.
COVERAGE_CATEGORIES = ("party", "self_governance", "volunteer")
