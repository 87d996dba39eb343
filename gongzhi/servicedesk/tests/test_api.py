"""The JSON API: the public catalogue, orders in the staff scope only, no requester data, a bounded query count."""

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
