"""The renovation API: gate-scoped, actions behind every change, the error shape, query budgets on lists."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from gongzhi.renovation import actions
from gongzhi.renovation.models import Order, Project
from gongzhi.renovation.tests.builders import build_scene, soon, to_works

pytestmark = pytest.mark.django_db

BASE = "/api/v1/renovation"


@pytest.fixture
def scene(mini):
    return build_scene(mini)


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_anonymous_is_refused(scene):
    assert api().get(f"{BASE}/projects/").status_code in (401, 403)
    assert api().get(f"{BASE}/menu-items/").status_code in (401, 403)


def test_projects_are_scoped(scene):
    assert [p["id"] for p in api(scene.officer).get(f"{BASE}/projects/").json()["results"]] == [scene.project.pk]
    assert [p["id"] for p in api(scene.resident).get(f"{BASE}/projects/").json()["results"]] == [scene.project.pk]
    assert api(scene.outsider).get(f"{BASE}/projects/").json()["results"] == []
    assert api(scene.outsider).get(f"{BASE}/projects/{scene.project.pk}/").status_code == 404


def test_bill_and_order_online_and_on_behalf(scene):
    p, unit = scene.project, scene.mini.units[1]
    bill = api(scene.resident).get(f"{BASE}/projects/{p.pk}/bill/", {"unit": unit.pk}).json()
    assert {ln["item_name"]: ln["share"] for ln in bill["lines"]}["供排水管网改造"] == "160.00"
    assert api(scene.resident).get(f"{BASE}/projects/{p.pk}/bill/", {"unit": scene.mini.units[2].pk}).status_code == 403
    r = api(scene.resident).post(
        f"{BASE}/projects/{p.pk}/orders/", {"unit": unit.pk, "item": scene.pipes.pk, "agrees": True}, format="json"
    )
    assert r.status_code == 200 and r.json()["seen_share"] == "160.00"
    r = api(scene.operator).post(
        f"{BASE}/projects/{p.pk}/orders/",
        {
            "unit": unit.pk,
            "item": scene.lift.pk,
            "agrees": False,
            "channel": "hotline",
            "on_behalf_of": scene.resident_person.pk,
        },
        format="json",
    )
    assert r.status_code == 200 and Order.objects.count() == 2
    bad = api(scene.operator).post(
        f"{BASE}/projects/{p.pk}/orders/",
        {
            "unit": scene.mini.units[4].pk,
            "item": scene.pipes.pk,
            "agrees": True,
            "channel": "door",
            "on_behalf_of": scene.resident_person.pk,
        },
        format="json",
    )
    assert bad.status_code == 400
    body = bad.json()
    assert body["errors"][0]["field"] == "on_behalf_of" and body["errors"][0]["message_en"]
    assert api(scene.resident).get(f"{BASE}/projects/{p.pk}/tallies/").status_code == 403
    tallies = api(scene.officer).get(f"{BASE}/projects/{p.pk}/tallies/").json()
    pipes = next(t for t in tallies if t["item"] == scene.pipes.pk)
    assert pipes["household_ratio"] == "1/6" and pipes["passed"] is False


def test_progress_defects_and_token_answer(scene):
    p = to_works(scene)
    work = p.work_items.get()
    assert (
        api(scene.other_contractor)
        .post(f"{BASE}/work-items/{work.pk}/progress/", {"progress": 10}, format="json")
        .status_code
        == 403
    )
    r = api(scene.contractor_user).post(f"{BASE}/work-items/{work.pk}/progress/", {"progress": 40}, format="json")
    assert r.status_code == 200 and r.json()["progress"] == 40
    assert (
        api(scene.contractor_user)
        .post(f"{BASE}/work-items/{work.pk}/progress/", {"progress": 140}, format="json")
        .status_code
        == 400
    )
    r = api(scene.resident).post(
        f"{BASE}/defects/",
        {"project": p.pk, "description": "楼道扶手松动", "deadline": soon().isoformat()},
        format="json",
    )
    assert r.status_code == 201
    defect_id = r.json()["id"]
    assert api(scene.resident).get(f"{BASE}/defects/").json()["results"][0]["id"] == defect_id
    from gongzhi.renovation.models import Defect

    token = Defect.objects.get(pk=defect_id).token
    assert (
        api()
        .post(f"{BASE}/defect-answers/", {"token": "x" * 30, "name": "王工", "note": "好了"}, format="json")
        .status_code
        == 404
    )
    assert (
        api()
        .post(f"{BASE}/defect-answers/", {"token": token, "name": "王工", "note": "已紧固"}, format="json")
        .status_code
        == 200
    )
    assert api(scene.contractor_user).post(f"{BASE}/defects/{defect_id}/close/").status_code == 403
    assert api(scene.supervisor_user).post(f"{BASE}/defects/{defect_id}/close/").status_code == 200


def test_timeline_api(scene):
    r = api(scene.resident).get(f"{BASE}/projects/{scene.project.pk}/timeline/")
    assert r.status_code == 200 and r.json()[0]["kind"] == "project"


def test_list_query_budgets(scene, django_assert_max_num_queries):
    from gongzhi.registry.models import UnitSet

    for i in range(8):
        actions.create_project(actor=scene.officer, name=f"P{i}", unit_set=UnitSet.objects.first(), menu=[scene.pipes])
    to_works(scene)
    for _ in range(8):
        actions.report_defect(
            scene.project, actor=scene.inspector, source="inspector", description="x", deadline=soon()
        )
    with django_assert_max_num_queries(6):
        assert api(scene.officer).get(f"{BASE}/projects/").status_code == 200
    with django_assert_max_num_queries(6):
        assert api(scene.officer).get(f"{BASE}/menu-items/").status_code == 200
    with django_assert_max_num_queries(6):
        assert api(scene.officer).get(f"{BASE}/defects/").status_code == 200
    assert Project.objects.count() == 9
