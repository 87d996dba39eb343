import pytest

from gongzhi.organizations import selectors
from gongzhi.organizations.tests.builders import build_coverage_district


@pytest.fixture
def cov(mini):
    return build_coverage_district(mini)


def test_coverage_rows_hand_checked(cov):
    page = selectors.coverage_for(cov.mini.community)
    rows = {r.name: r for r in page}
    assert set(rows) == {"油漆厂家属院", "铁路小区一院", "电厂小区"}
    assert [r.path for r in page] == sorted(r.path for r in page)  # by path: each estate and community together
    c1, c2, c3 = rows["油漆厂家属院"], rows["铁路小区一院"], rows["电厂小区"]
    assert (c1.has_party, c1.has_self_governance, c1.has_volunteer) == (True, True, True)
    assert (c2.has_party, c2.has_self_governance, c2.has_volunteer) == (True, True, False)
    assert (c3.has_party, c3.has_self_governance, c3.has_volunteer) == (False, False, False)
    assert (c1.households, c1.households_without_liaison) == (3, 1)
    assert (c2.households, c2.households_without_liaison) == (2, 1)
    assert (c3.households, c3.households_without_liaison) == (2, 2)
    assert {r.community for r in page} == {"铁道家园社区"}
    assert page.next_after is None


def test_totals_hand_checked(cov):
    per, grand = selectors.coverage_totals(cov.mini.subdistrict)
    assert len(per) == 1
    t = per[0]
    assert t.community == "铁道家园社区"
    assert (t.compounds, t.with_party, t.with_self_governance, t.with_volunteer, t.with_all_three) == (3, 2, 2, 1, 1)
    assert (t.households, t.households_without_liaison) == (7, 4)
    assert grand.households == 7
