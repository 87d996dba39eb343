"""API: matters scoped and paged; opinions and objections with Idempotency-Key; errors name the field; schema."""

from datetime import date

import pytest
from rest_framework.test import APIClient

from gongzhi.deliberation import actions
from gongzhi.deliberation.models import Opinion

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_matters_list_is_scoped(api, scene, persona, mini, django_assert_max_num_queries):
    api.force_authenticate(scene.officer)
    with django_assert_max_num_queries(8):
        body = api.get("/api/v1/matters/").json()
    assert [m["id"] for m in body["results"]] == [scene.matter.pk]
    api.force_authenticate(persona("community_worker", mini.other_subdistrict, "elsewhere"))
    assert api.get("/api/v1/matters/").json()["results"] == []
    assert api.get(f"/api/v1/matters/{scene.matter.pk}/").status_code == 404


def test_matter_detail_for_a_resident(api, scene):
    api.force_authenticate(scene.resident)
    body = api.get(f"/api/v1/matters/{scene.matter.pk}/").json()
    assert body["stage"]["code"] == "solicit" and len(body["stages"]) == 8


def test_opinion_post_is_idempotent(api, scene):
    api.force_authenticate(scene.resident)
    url = f"/api/v1/matters/{scene.matter.pk}/opinions/"
    first = api.post(url, {"text": "希望加装电梯", "kind": "need"}, format="json", HTTP_IDEMPOTENCY_KEY="phone-42")
    again = api.post(url, {"text": "希望加装电梯", "kind": "need"}, format="json", HTTP_IDEMPOTENCY_KEY="phone-42")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and Opinion.objects.count() == 1


def test_opinion_errors_name_the_field(api, scene):
    api.force_authenticate(scene.resident)
    response = api.post(f"/api/v1/matters/{scene.matter.pk}/opinions/", {"text": ""}, format="json")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (
        error["field"] == "text"
        and error["message"] == "意见内容不能为空"
        and error["message_en"] == "text is required"
    )


def test_operator_posts_for_a_resident(api, scene):
    api.force_authenticate(scene.operator)
    url = f"/api/v1/matters/{scene.matter.pk}/opinions/"
    missing = api.post(url, {"text": "盼电梯", "on_behalf_of": scene.resident_person.pk}, format="json")
    assert missing.status_code == 400
    ok = api.post(
        url,
        {
            "text": "盼电梯",
            "on_behalf_of": scene.resident_person.pk,
            "unit": scene.mini.units[1].pk,
            "channel": "hotline",
        },
        format="json",
    )
    assert ok.status_code == 201 and ok.json()["on_behalf_of"] == scene.resident_person.pk
    api.force_authenticate(scene.outsider)
    assert api.post(url, {"text": "x"}, format="json").status_code == 404


def test_objection_only_in_the_notice_period(api, scene, set_today):
    from gongzhi.deliberation.tests.test_flow import resolve_by_assembly, to_resolve

    api.force_authenticate(scene.resident)
    url = f"/api/v1/matters/{scene.matter.pk}/objections/"
    assert api.post(url, {"reasons": "反对"}, format="json").status_code == 403
    m = to_resolve(scene, set_today)
    resolve_by_assembly(scene, m, date(2026, 9, 24))
    actions.advance_matter(m, actor=scene.officer, today=date(2026, 9, 24))
    set_today(date(2026, 9, 30))
    response = api.post(url, {"reasons": "费用不合理"}, format="json", HTTP_IDEMPOTENCY_KEY="o-1")
    assert response.status_code == 201 and response.json()["status"] == "open"


def test_schema_lists_the_endpoints_and_errors(api):
    schema = api.get("/api/v1/schema/?format=json").json()
    post = schema["paths"]["/api/v1/matters/{id}/opinions/"]["post"]
    assert {"201", "400", "401", "403", "404"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert "/api/v1/notices/" in schema["paths"]


def test_public_notices_api_without_sign_in(api, persona, mini):
    from gongzhi.notices import actions as notice_actions

    notice_actions.publish_notice(
        actor=persona("community_worker"), kind="other", title="停车公示", body="正文", node=mini.courtyard
    )
    body = api.get("/api/v1/notices/").json()
    assert body["results"][0]["title"] == "停车公示" and body["results"][0]["pdf_url"].endswith("/pdf/")
