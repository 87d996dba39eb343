import pytest
from rest_framework.test import APIClient

from gongzhi.organizations.models import Membership, Organization
from gongzhi.organizations.tests.builders import add_bulk, build_coverage_district
from gongzhi.registry import actions as registry


@pytest.fixture
def cov(mini):
    return build_coverage_district(mini)


@pytest.fixture
def api(cov, persona):
    client = APIClient()
    client.force_login(persona("community_worker"))
    return client


def test_org_kinds_lists_the_seeded_chain(api):
    data = api.get("/api/v1/org-kinds/").json()
    chain = sorted((k["chain_rank"], k["code"]) for k in data["results"] if k["chain_rank"])
    assert [c for _, c in chain] == [
        "community_party_committee",
        "compound_party_branch",
        "courtyard_party_group",
        "party_liaison",
    ]


def test_list_filters_by_node_and_kind(api, cov):
    data = api.get(f"/api/v1/organizations/?node={cov.mini.estate.pk}").json()
    assert {o["name"] for o in data["results"]} == {
        "油漆厂家属院党支部",
        "油漆厂家属院党小组",
        "油漆厂家属院自治小组",
        "油漆厂家属院志愿服务队",
    }
    data = api.get("/api/v1/organizations/?kind=compound_party_branch").json()
    assert {o["name"] for o in data["results"]} == {"油漆厂家属院党支部", "铁路小区党支部"}
    assert "next" in data and "count" not in data  # cursor pages, no counting
    response = api.get("/api/v1/organizations/?node=abc")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "node"


def test_detail_masks_members_and_counts_liaison_households(api, cov):
    data = api.get(f"/api/v1/organizations/{cov.group1.pk}/").json()
    (member,) = data["members"]
    assert member["name"] == "郑**" and member["phone"] == "137****2222"
    assert member["role"] == "liaison" and member["households"] == 3


def test_scope_other_subdistrict_sees_nothing(cov, persona):
    client = APIClient()
    client.force_login(persona("community_worker", cov.mini.other_subdistrict))
    assert client.get("/api/v1/organizations/").json()["results"] == []
    assert client.get(f"/api/v1/organizations/?node={cov.mini.community.pk}").json()["results"] == []
    assert client.get(f"/api/v1/organizations/{cov.group1.pk}/").status_code == 404
    assert client.get(f"/api/v1/coverage/?node={cov.mini.community.pk}").status_code == 404
    response = client.post(
        "/api/v1/organizations/", {"kind": "volunteer_team", "node": cov.c3.pk, "name": "x"}, format="json"
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "node"


def test_resident_is_refused(cov, persona):
    client = APIClient()
    client.force_login(persona("resident"))
    assert client.get("/api/v1/organizations/").status_code == 403
    assert client.get(f"/api/v1/coverage/?node={cov.mini.community.pk}").status_code == 403


def test_anonymous_is_refused(cov):
    assert APIClient().get("/api/v1/organizations/").status_code in (401, 403)


def test_coverage_api_has_the_page_figures(api, cov):
    data = api.get(f"/api/v1/coverage/?node={cov.mini.community.pk}").json()
    rows = {r["name"]: r for r in data["results"]}
    assert (rows["铁路小区一院"]["has_volunteer"], rows["铁路小区一院"]["households_without_liaison"]) == (False, 1)
    assert rows["电厂小区"]["complete"] is False
    assert data["totals"]["households"] == 7 and data["totals"]["households_without_liaison"] == 4
    assert data["communities"][0]["with_all_three"] == 1
    first = api.get(f"/api/v1/coverage/?node={cov.mini.community.pk}&page_size=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    assert api.get("/api/v1/coverage/").json()["errors"][0]["field"] == "node"


def test_post_organization_calls_the_action_and_names_the_field(api, cov):
    response = api.post(
        "/api/v1/organizations/",
        {
            "kind": "courtyard_party_group",
            "node": cov.c3.pk,
            "name": "电厂小区党小组",
            "parent": cov.committee.pk,
        },
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["errors"][0]["field"] == "parent"
    assert "小区党支部" in body["errors"][0]["message"] and "compound party branch" in body["errors"][0]["message_en"]
    response = api.post("/api/v1/organizations/", {"kind": "nope", "node": cov.c3.pk, "name": "x"}, format="json")
    assert response.json()["errors"][0]["field"] == "kind"
    response = api.post(
        "/api/v1/organizations/",
        {
            "kind": "compound_party_branch",
            "node": cov.c3.parent_id,
            "name": "电厂小区党支部",
            "parent": cov.committee.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert Organization.objects.get(pk=response.json()["id"]).kind.code == "compound_party_branch"


def test_post_member(api, cov):
    person = registry.create_person(actor=None, name="褚卫东", phone="13500005555", home_path=cov.c3_units[0].path)
    url = f"/api/v1/organizations/{cov.committee.pk}/members/"
    response = api.post(url, {"person": person.pk, "role": "liaison"}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "is_party_member"
    response = api.post(url, {"person": person.pk, "role": "secretary", "is_party_member": True}, format="json")
    assert response.status_code == 201 and response.json()["name"] == "褚**"
    assert Membership.objects.filter(organization=cov.committee, person=person, role="secretary").exists()
    response = api.post(url, {"person": person.pk, "role": "secretary", "is_party_member": True}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "person"


@pytest.mark.parametrize("extra", [0, 12])
def test_api_query_budgets(api, cov, django_assert_max_num_queries, extra):
    if extra:
        add_bulk(cov.committee, extra, 3)
    # 3 to authenticate (session, user, roles) + 3 to save the session, then: node, communities, page, totals.
    with django_assert_max_num_queries(10):
        assert api.get(f"/api/v1/coverage/?node={cov.mini.community.pk}").status_code == 200
    with django_assert_max_num_queries(8):
        assert api.get(f"/api/v1/organizations/?node={cov.mini.community.pk}").status_code == 200
    with django_assert_max_num_queries(8):
        assert api.get(f"/api/v1/organizations/{cov.committee.pk}/").status_code == 200
