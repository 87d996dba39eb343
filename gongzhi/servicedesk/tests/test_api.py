"""The JSON API: the public catalogue, the orders the reader may see (staff or taker scope), no requester data, a bounded query count."""

from __future__ import annotations

from gongzhi.servicedesk import actions


def test_catalogue_is_public(client, cats):
    data = client.get("/api/v1/servicedesk/categories/").json()
    assert {c["code"] for c in data} >= {"stair_light", "emergency"}
    assert next(c for c in data if c["code"] == "stair_light")["limit_unit"] == "workdays"


def test_requests_in_scope_without_personal_data(client, submit, worker, persona, mini, django_assert_max_num_queries):
    for _ in range(6):
        actions.dispatch_request(submit(), actor=worker)
    assert client.get("/api/v1/servicedesk/requests/").status_code in (401, 403)
    client.force_login(worker)
    with django_assert_max_num_queries(8):
        r = client.get("/api/v1/servicedesk/requests/")
    body = r.content.decode()
    assert r.status_code == 200 and len(r.json()["results"]) == 6
    assert "13812345678" not in body and "张建国" not in body and "油漆厂家属院" in body
    client.force_login(persona("community_worker", mini.other_subdistrict, "far"))
    assert client.get("/api/v1/servicedesk/requests/").json()["results"] == []


def test_takers_read_the_orders_they_may_see(client, submit, worker, persona, mini):
    """`servicedesk.view_request` lets the takers of the scope see its orders (a volunteer is no staff)."""
    req = actions.dispatch_request(submit(), actor=worker)
    client.force_login(persona("volunteer", mini.community, "vol"))
    assert client.get(f"/api/v1/servicedesk/requests/{req.pk}/").json()["reference"] == req.reference
    assert [r["id"] for r in client.get("/api/v1/servicedesk/requests/").json()["results"]] == [req.pk]
    client.force_login(persona("volunteer", mini.other_subdistrict, "vol2"))
    assert client.get(f"/api/v1/servicedesk/requests/{req.pk}/").status_code == 404
