"""Registry API: validated filters, masking (tokens never unmask), cursor pages, query budgets, the schema."""

import json

import pytest

from gongzhi.core.models import AuditEntry
from gongzhi.registry.tests.pages_helpers import (
    FULL_PHONE,
    ID_NUMBER,
    MASKED_PHONE,
    add_owner,
    grow,
    sign_in,
    token_for,
)

API_BUDGETS = {"nodes": 9, "units": 10, "units_under_node": 10, "persons": 11, "unit_detail": 12, "node_detail": 9}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url,field",
    [
        ("/api/v1/nodes/?parent=abc", "parent"),
        ("/api/v1/nodes/?parent=0", "parent"),
        ("/api/v1/nodes/?level=no%20such", "level"),
        ("/api/v1/nodes/?level=planet", "level"),
        ("/api/v1/units/?node=abc", "node"),
        ("/api/v1/units/?compound=-3", "compound"),
        ("POST /api/v1/persons/lookup/", "phone"),
        ("POST /api/v1/persons/lookup/?phone=12345", "phone"),
        ("POST /api/v1/persons/lookup/?id_number=110105194912310021", "id_number"),
    ],
)
def test_bad_filters_are_a_400_naming_the_field_in_chinese_then_english(client, mini, persona, url, field):
    sign_in(client, persona("community_worker"))
    if url.startswith("POST "):  # the look-up takes its numbers in the body: the query here only writes the case
        path, _, query = url.removeprefix("POST ").partition("?")
        body = dict([query.split("=", 1)]) if query else {}
        response = client.post(path, body, content_type="application/json")
    else:
        response = client.get(url)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and body["message"] == "请求数据有误"
    (error,) = body["errors"]
    assert error["field"] == field
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])  # Chinese first
    assert error["message_en"].isascii() and error["message_en"]


@pytest.mark.django_db
def test_filters_narrow_the_lists(client, mini, persona):
    sign_in(client, persona("community_worker"))
    children = client.get(f"/api/v1/nodes/?parent={mini.courtyard.pk}").json()["results"]
    assert [c["name"] for c in children] == ["1号楼"]
    courtyards = client.get("/api/v1/nodes/?level=courtyard").json()["results"]
    assert [c["id"] for c in courtyards] == [mini.courtyard.pk]
    under = client.get(f"/api/v1/units/?node={mini.building.pk}").json()["results"]
    assert {u["id"] for u in under} == {u.pk for u in mini.units}
    by_compound = client.get(f"/api/v1/units/?compound={mini.courtyard.pk}").json()["results"]
    assert len(by_compound) == 6 and by_compound[0]["voting_area_source"] == "registered"


@pytest.mark.django_db
def test_node_detail_carries_the_compound_profile_with_its_datum(client, mini, persona):
    sign_in(client, persona("community_worker"))
    body = client.get(f"/api/v1/nodes/{mini.courtyard.pk}/").json()
    assert body["is_compound"] is True and body["share_60"] == "0.6667" and body["share_80"] == "0.3333"
    assert body["profile"]["management"] == "unmanaged" and body["profile"]["datum"] == "WGS-84"
    assert body["profile"]["latitude"] == "34.737200"
    assert client.get(f"/api/v1/nodes/{mini.community.pk}/").json()["profile"] is None


@pytest.mark.django_db
def test_cursor_pages_walk_every_row_once(client, mini, persona):
    grow(mini, units=23, compounds=0)
    sign_in(client, persona("community_worker"))
    seen, url = [], "/api/v1/units/?page_size=10"
    while url:
        body = client.get(url).json()
        seen += [u["id"] for u in body["results"]]
        url = body["next"]
        assert "offset" not in (url or "")
    assert len(seen) == 29 and seen == sorted(set(seen))


@pytest.mark.django_db
def test_unit_detail_is_masked_for_a_community_worker(client, mini, persona):
    add_owner(mini.units[0], designated_voter=True)
    sign_in(client, persona("community_worker"))
    for url in (f"/api/v1/units/{mini.units[0].pk}/", f"/api/v1/units/{mini.units[0].pk}/?reveal=1"):
        raw = client.get(url).content.decode()
        assert FULL_PHONE not in raw and ID_NUMBER not in raw and "张建华" not in raw
        body = json.loads(raw)
        (owner,) = body["owners"]
        assert owner["person"] == {
            "id": owner["person"]["id"],
            "kind": "natural",
            "name": "张**",
            "phone": MASKED_PHONE,
            "id_number": "110105********002X",
            "is_developer": False,
            "unmasked": False,
        }
        assert owner["is_designated_voter"] is True
        assert {r["age_band"] for r in body["residents"]} == {"80岁及以上", "60–79岁", "18–59岁"}
    lookup = client.post(
        "/api/v1/persons/lookup/", {"id_number": ID_NUMBER}, content_type="application/json"
    ).content.decode()
    assert ID_NUMBER not in lookup and "110105********002X" in lookup
    assert not AuditEntry.objects.filter(action="pii.view").exists()


@pytest.mark.django_db
def test_api_tokens_never_unmask_even_for_a_permitted_role(client, mini, persona):
    add_owner(mini.units[0])
    officer = persona("registry_officer")
    raw = client.get(
        f"/api/v1/units/{mini.units[0].pk}/?reveal=1", HTTP_AUTHORIZATION=f"Token {token_for(officer)}"
    ).content.decode()
    assert MASKED_PHONE in raw and FULL_PHONE not in raw and ID_NUMBER not in raw
    assert not AuditEntry.objects.filter(action="pii.view").exists()


@pytest.mark.django_db
def test_a_verified_session_may_reveal_and_the_reveal_is_audited(client, mini, persona):
    add_owner(mini.units[0])
    officer = persona("registry_officer")
    sign_in(client, officer, verified=True)
    url = f"/api/v1/units/{mini.units[0].pk}/"
    assert FULL_PHONE not in client.get(url).content.decode()  # masked unless asked
    body = client.get(url + "?reveal=1").json()
    owner = body["owners"][0]["person"]
    assert owner["phone"] == FULL_PHONE and owner["id_number"] == ID_NUMBER and owner["unmasked"] is True
    entry = AuditEntry.objects.filter(action="pii.view", target_id=str(owner["id"])).get()
    assert entry.actor == officer and entry.channel == "api"


@pytest.mark.django_db
def test_an_unverified_session_does_not_unmask(client, mini, persona):
    add_owner(mini.units[0])
    sign_in(client, persona("registry_officer"), verified=False)
    assert FULL_PHONE not in client.get(f"/api/v1/units/{mini.units[0].pk}/?reveal=1").content.decode()


@pytest.mark.django_db
def test_resident_tokens_are_refused(client, mini, persona):
    token = token_for(persona("resident"))
    response = client.get("/api/v1/nodes/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 403 and response.json()["message"] == "您没有权限执行此操作"


@pytest.mark.django_db
@pytest.mark.parametrize("size", [(5, 2), (200, 40)], ids=["small", "large"])
def test_api_query_budgets_hold_at_two_sizes(client, mini, persona, django_assert_max_num_queries, size):
    units, compounds = size
    grow(mini, units=units, compounds=compounds)
    officer = persona("registry_officer")
    sign_in(client, officer)
    calls = {
        "nodes": "/api/v1/nodes/",
        "units": "/api/v1/units/",
        "units_under_node": f"/api/v1/units/?node={mini.building.pk}",
        "unit_detail": f"/api/v1/units/{mini.units[0].pk}/",
        "node_detail": f"/api/v1/nodes/{mini.courtyard.pk}/",
    }
    for name, url in calls.items():
        with django_assert_max_num_queries(API_BUDGETS[name], info=name):
            response = client.get(url)
        assert response.status_code == 200
        if name == "units_under_node":
            nxt = response.json()["next"]
            if nxt:
                with django_assert_max_num_queries(API_BUDGETS[name], info="second page"):
                    assert client.get(nxt).status_code == 200
    lookup = ("/api/v1/persons/lookup/", {"phone": FULL_PHONE})
    with django_assert_max_num_queries(API_BUDGETS["persons"], info="persons"):
        assert client.post(*lookup, content_type="application/json").status_code == 200
    # The same budgets with a token (no session bookkeeping).
    token = token_for(officer)
    client.logout()
    for name, url in calls.items():
        with django_assert_max_num_queries(API_BUDGETS[name], info=f"token {name}"):
            assert client.get(url, HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    with django_assert_max_num_queries(API_BUDGETS["persons"], info="token persons"):
        response = client.post(*lookup, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")
    body = response.json()  # the grown data gives many people one phone: the look-up is capped, and says so
    assert response.status_code == 200 and len(body["results"]) <= 50
    assert body["truncated"] is (units >= 50)


@pytest.mark.django_db
def test_person_lookup_takes_the_number_in_the_body_only(client, mini, persona):
    add_owner(mini.units[0])
    sign_in(client, persona("community_worker"))
    assert client.get("/api/v1/persons/", {"phone": FULL_PHONE}).status_code == 404  # no list, no numbers in URLs
    assert client.get("/api/v1/persons/lookup/", {"phone": FULL_PHONE}).status_code == 405
    body = client.post("/api/v1/persons/lookup/", {"phone": FULL_PHONE}, content_type="application/json").json()
    assert {r["person"]["phone"] for r in body["results"]} == {MASKED_PHONE}
    assert [r["owned_units"] for r in body["results"] if r["owned_units"]] == [[mini.units[0].pk]]


@pytest.mark.django_db
def test_the_openapi_document_lists_every_error_response(client, mini, persona):
    sign_in(client, persona("community_worker"))
    response = client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    expected = {
        "/api/v1/nodes/": {"200", "400", "401", "403"},
        "/api/v1/nodes/{id}/": {"200", "401", "403", "404"},
        "/api/v1/units/": {"200", "400", "401", "403"},
        "/api/v1/units/{id}/": {"200", "401", "403", "404"},
    }
    for path, codes in expected.items():
        assert set(paths[path]["get"]["responses"]) == codes, path
    assert set(paths["/api/v1/persons/lookup/"]["post"]["responses"]) == {"200", "400", "401", "403"}
    assert "/api/v1/persons/" not in paths  # no list of people, and no numbers in addresses
    params = {p["name"] for p in paths["/api/v1/nodes/"]["get"]["parameters"]}
    assert {"parent", "level", "cursor"} <= params


def test_the_schema_generates_without_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator(patterns=None).get_schema(request=None, public=True)
    problems = list(GENERATOR_STATS._warn_cache) + list(GENERATOR_STATS._error_cache)
    mine = ("gongzhi/registry/", "NodeViewSet", "UnitViewSet", "PersonViewSet")
    assert [p for p in problems if any(m in p for m in mine)] == []
