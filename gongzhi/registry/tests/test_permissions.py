"""Roles × scopes for every registry page and API endpoint (STYLE.md: a permission matrix, not spot checks).

Scopes in the mini district: 铁道家园社区 (福华街街道) holds 油漆厂家属院; 桃源路47号院 lies in 大学路街道.
"""

import pytest
from django.urls import reverse

from gongzhi.registry.tests.pages_helpers import sign_in

# role → where it is held, and what it gets for an object in its scope / outside it.
MATRIX = {
    "community_worker": ("community", 200, 404),
    "subdistrict_staff": ("subdistrict", 200, 404),
    "registry_officer": ("community", 200, 404),
    "district_admin": ("district", 200, 200),
    "resident": ("community", 403, 403),
    "volunteer": ("community", 403, 403),
}


def targets(mini, where: str) -> dict:
    if where == "in":
        return {"courtyard": mini.courtyard, "building": mini.building, "unit": mini.units[0]}
    return {
        "courtyard": mini.other_courtyard,
        "building": mini.other_courtyard.children.get(),
        "unit": mini.other_units[0],
    }


def page_urls(t: dict) -> list[str]:
    return [
        reverse("registry:node", args=[t["courtyard"].pk]),
        reverse("registry:node", args=[t["building"].pk]),
        reverse("registry:unit", args=[t["unit"].pk]),
    ]


def api_urls(t: dict) -> list[str]:
    return [f"/api/v1/nodes/{t['courtyard'].pk}/", f"/api/v1/units/{t['unit'].pk}/"]


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["in", "out"])
@pytest.mark.parametrize("role", list(MATRIX))
def test_pages_by_role_and_scope(client, mini, persona, role, where):
    level, in_status, out_status = MATRIX[role]
    sign_in(client, persona(role, getattr(mini, level)))
    expected = in_status if where == "in" else out_status
    for url in page_urls(targets(mini, where)):
        assert client.get(url).status_code == expected, url
    top = client.get(reverse("registry:browse")).status_code
    assert top == (403 if in_status == 403 else 200)


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["in", "out"])
@pytest.mark.parametrize("role", list(MATRIX))
def test_api_by_role_and_scope(client, mini, persona, role, where):
    level, in_status, out_status = MATRIX[role]
    sign_in(client, persona(role, getattr(mini, level)))
    expected = in_status if where == "in" else out_status
    for url in api_urls(targets(mini, where)):
        response = client.get(url)
        assert response.status_code == expected, url
        if expected != 200:
            assert response.json()["status"] == expected


LOOKUP = "/api/v1/persons/lookup/"


def lookup(client, **body) -> dict:
    return client.post(LOOKUP, body, content_type="application/json").json()


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["in", "out"])
def test_anonymous_is_sent_to_sign_in_and_the_api_answers_401(client, mini, where):
    t = targets(mini, where)
    for url in [reverse("registry:browse"), reverse("registry:search"), *page_urls(t)]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("core:login")), url
    for url in ["/api/v1/nodes/", "/api/v1/units/", *api_urls(t)]:
        assert client.get(url).status_code == 401, url
    assert client.post(LOOKUP, {"phone": "13812345678"}, content_type="application/json").status_code == 401
    assert client.post(reverse("registry:search"), {"q": "13812345678"}).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role,level,sees_other",
    [
        ("community_worker", "community", False),
        ("subdistrict_staff", "subdistrict", False),
        ("district_admin", "district", True),
    ],
)
def test_lists_simply_leave_out_what_lies_outside_the_scope(client, mini, persona, role, level, sees_other):
    sign_in(client, persona(role, getattr(mini, level)))
    node_ids = {n["id"] for n in client.get("/api/v1/nodes/?page_size=500").json()["results"]}
    unit_ids = {u["id"] for u in client.get("/api/v1/units/?page_size=500").json()["results"]}
    assert mini.courtyard.pk in node_ids and mini.units[0].pk in unit_ids
    assert (mini.other_courtyard.pk in node_ids) is sees_other
    assert (mini.other_units[0].pk in unit_ids) is sees_other
    # Filtering on an out-of-scope node gives an empty list, not its units.
    under_other = client.get(f"/api/v1/units/?node={mini.other_courtyard.pk}").json()["results"]
    assert bool(under_other) is sees_other
    html = client.get(reverse("registry:search"), {"q": "桃源路"}).content.decode()
    assert ("桃源路47号院" in html) is sees_other


@pytest.mark.django_db
def test_browse_starts_at_the_users_own_scope(client, mini, persona):
    sign_in(client, persona("district_admin", mini.district))
    html = client.get(reverse("registry:browse")).content.decode()
    assert "二七区" in html and "福华街街道" in html and "大学路街道" in html
    client.logout()
    sign_in(client, persona("community_worker"))
    html = client.get(reverse("registry:browse")).content.decode()
    assert "铁道家园社区" in html and "油漆厂家属院" in html and "大学路街道" not in html


@pytest.mark.django_db
def test_a_resident_cannot_use_the_person_lookup(client, mini, persona):
    sign_in(client, persona("resident"))
    assert client.post(LOOKUP, {"phone": "13812345678"}, content_type="application/json").status_code == 403
    assert client.post(reverse("registry:search"), {"q": "13812345678"}).status_code == 403


@pytest.mark.django_db
def test_people_outside_the_scope_are_not_found(client, mini, persona):
    from gongzhi.registry.tests.pages_helpers import add_owner

    add_owner(mini.other_units[0], name="孙桂兰", phone="13700001111", id_number="11010519491231002X")
    sign_in(client, persona("community_worker"))
    assert lookup(client, phone="13700001111")["results"] == []
    assert lookup(client, id_number="11010519491231002X")["results"] == []
    html = client.post(reverse("registry:search"), {"q": "13700001111"}).content.decode()
    assert "孙" not in html.split("<main")[1]
    client.logout()
    sign_in(client, persona("subdistrict_staff", mini.other_subdistrict))
    (hit,) = lookup(client, id_number="11010519491231002X")["results"]
    assert hit["person"]["name"] == "孙**" and hit["owned_units"] == [mini.other_units[0].pk]
