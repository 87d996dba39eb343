"""API: catalogue and item check, availability, bookings (create with Idempotency-Key, scoped lists, amend,
cancel), dumping reports, crew marks; errors name the field; the OpenAPI document lists the errors."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.cache import cache
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from gongzhi.bulkywaste import actions
from gongzhi.bulkywaste.models import Booking, BookingItem, DayPlan, DumpingReport, Round, RoundStop
from testkit import bulkywaste as bw

BASE = "/api/v1/bulky"


@pytest.fixture
def api():
    return APIClient()


def as_user(api, user):
    api.force_authenticate(user)
    return api


def test_catalogue_and_check_item_are_public(api, area):
    r = api.get(f"{BASE}/catalogue/")
    assert r.status_code == 200
    rows = {row["code"]: row for row in r.data["results"]}
    assert rows["refrigerator"]["decision"]["route"] == "e_waste" and rows["wardrobe"]["decision"]["is_bulky"]
    r = api.post(
        f"{BASE}/check-item/", {"description": "一袋厨余", "category": "kitchen_waste", "weight_kg": "9"}, format="json"
    )
    assert r.status_code == 200 and r.data["is_bulky"] is False and r.data["route"] == "kitchen"
    r = api.post(f"{BASE}/check-item/", {"description": "旧桌", "category": "table", "length_m": "1.2"}, format="json")
    assert r.data["is_bulky"] and r.data["exceeded"] == ["length_m"]
    r = api.post(f"{BASE}/check-item/", {"code": "nope"}, format="json")
    assert r.status_code == 400 and r.data["errors"][0]["field"] == "items[0].code"
    r = api.post(f"{BASE}/check-item/", {"description": "x", "category": "table", "weight_kg": "-1"}, format="json")
    assert r.status_code == 400 and r.data["errors"][0]["field"] == "weight_kg"
    assert (
        r.data["errors"][0]["message"] == "不能为负数" and r.data["errors"][0]["message_en"] == "must not be negative"
    )


def test_availability(api, area, mini, operator):
    assert api.get(f"{BASE}/availability/", {"area": area.pk}).status_code in (401, 403)
    as_user(api, operator)
    r = api.get(f"{BASE}/availability/", {"area": area.pk})
    assert r.status_code == 200 and all(d["fits"] for d in r.data)
    first = r.data[2]["day"]
    r = api.get(f"{BASE}/availability/", {"area": area.pk, "from": first})
    assert r.data[0]["day"] == first
    r = api.get(f"{BASE}/availability/", {"area": "x"})
    assert r.status_code == 400 and r.data["errors"][0]["field"] == "area"
    r = api.get(f"{BASE}/availability/", {"area": area.pk, "from": "tomorrow"})
    assert r.status_code == 400 and r.data["errors"][0]["field"] == "from"
    assert api.get(f"{BASE}/availability/", {"area": 999999}).status_code == 404


def test_booking_by_api_with_idempotency_amend_and_cancel(api, area, mini, operator):
    as_user(api, operator)
    person = mini.units[0].residences.first().person
    body = {
        "items": [
            {"code": "wardrobe", "quantity": 2},
            {"description": "旧门板", "category": "board", "length_m": "2.1"},
        ],
        "unit": mini.units[0].pk,
        "window": "afternoon",
        "contact_name": "张建国",
        "contact_phone": "13812345678",
        "on_behalf_of": person.pk,
    }
    r = api.post(f"{BASE}/bookings/", body, format="json", HTTP_IDEMPOTENCY_KEY="abc")
    assert r.status_code == 201, r.data
    assert r.data["reference"].startswith("DJ-") and r.data["channel"] == "hotline" and r.data["datum"] == "WGS-84"
    assert len(r.data["items"]) == 2 and r.data["contact_phone"] == "13812345678"  # the booker typed it
    again = api.post(f"{BASE}/bookings/", body, format="json", HTTP_IDEMPOTENCY_KEY="abc")
    assert again.status_code == 200 and again.data["id"] == r.data["id"] and Booking.objects.count() == 1
    ref = r.data["reference"]
    bad = api.post(f"{BASE}/bookings/", {**body, "items": [{"code": "television"}]}, format="json")
    assert bad.status_code == 400 and bad.data["errors"][0]["field"] == "items[0]"
    assert "电视" in bad.data["errors"][0]["message"] and "e-waste" in bad.data["errors"][0]["message_en"]
    bad = api.post(f"{BASE}/bookings/", {**body, "contact_phone": "999"}, format="json")
    assert bad.status_code == 400 and bad.data["errors"][0]["field"] == "contact_phone"
    bad = api.post(f"{BASE}/bookings/", {**body, "unit": None, "items": []}, format="json")
    assert bad.status_code == 400 and {e["field"] for e in bad.data["errors"]} >= {"items", "unit"}
    days = actions.serving_days(area)
    r = api.patch(f"{BASE}/bookings/{ref}/", {"day": days[3].isoformat()}, format="json")
    assert r.status_code == 200 and r.data["day"] == days[3].isoformat()
    r = api.patch(f"{BASE}/bookings/{ref}/", {"day": "2020-01-01"}, format="json")
    assert r.status_code == 400 and r.data["errors"][0]["field"] == "day"
    r = api.post(f"{BASE}/bookings/{ref}/cancel/", {"reason": "来电取消"}, format="json")
    assert r.status_code == 200 and r.data["status"] == "cancelled"
    r = api.post(f"{BASE}/bookings/{ref}/cancel/", {}, format="json")
    assert r.status_code == 400


def test_booking_lists_are_scoped(api, area, mini, operator, resident, persona):
    own = bw.book_for(mini.units[0], actor=resident, channel="web", now=timezone.now())
    other = bw.book_for(mini.units[1], actor=operator, now=timezone.now())
    r = as_user(api, resident).get(f"{BASE}/bookings/")
    assert [b["reference"] for b in r.data["results"]] == [own.reference]
    assert api.get(f"{BASE}/bookings/{other.reference}/").status_code == 404
    r = as_user(api, operator).get(f"{BASE}/bookings/")
    assert {b["reference"] for b in r.data["results"]} == {own.reference, other.reference}
    row = next(b for b in r.data["results"] if b["reference"] == own.reference)
    assert row["contact_phone"] == "138****5678"  # not the operator's own booking: masked
    stranger = persona("community_worker", mini.other_subdistrict)
    r = as_user(api, stranger).get(f"{BASE}/bookings/")
    assert r.data["results"] == []
    assert api.get(f"{BASE}/bookings/{own.reference}/").status_code == 404
    assert api.post(f"{BASE}/bookings/{own.reference}/cancel/", {}, format="json").status_code == 404


def test_a_resident_cannot_book_someone_elses_unit(api, area, mini, resident):
    r = as_user(api, resident).post(
        f"{BASE}/bookings/",
        {"items": [{"code": "desk"}], "unit": mini.units[4].pk, "contact_name": "张", "contact_phone": "13812345678"},
        format="json",
    )
    assert r.status_code == 403 and r.data["message"] == "您没有权限执行此操作"


def test_dumping_reports_by_api(api, area, mini):
    cache.clear()
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "JPEG")
    out.name = "a.jpg"
    out.seek(0)
    r = api.post(
        f"{BASE}/dumping-reports/",
        {
            "description": "路边旧床垫",
            "node": mini.community.pk,
            "latitude": "34.7372",
            "longitude": "113.6401",
            "photo": out,
        },
        format="multipart",
    )
    assert r.status_code == 201 and r.data["reference"].startswith("JB-") and r.data["service_code"] == "bulky_dumping"
    assert DumpingReport.objects.get().photo is not None
    r = api.post(f"{BASE}/dumping-reports/", {"node": mini.community.pk}, format="json")
    assert r.status_code == 400 and r.data["errors"][0]["field"] == "description"


def test_crew_marks_by_api(api, area, mini, operator):
    crew = bw.crew_member("crew-api", mini.subdistrict)
    bw.vehicle(area, crew=[crew])
    b = bw.book_for(mini.units[0], actor=operator, preferred_days=[date(2026, 11, 24)])
    plan, _ = DayPlan.objects.get_or_create(area=area, day=date(2026, 11, 24))
    actions.plan_day(plan.pk, iterations=50, now=bw.NOW)
    stop = RoundStop.objects.get()
    assert as_user(api, operator).get(f"{BASE}/stops/{stop.pk}/").status_code == 404
    as_user(api, crew)
    r = api.get(f"{BASE}/stops/{stop.pk}/")
    assert r.status_code == 200 and r.data["contact_phone"] == "138****5678"
    item = b.items.get()
    payload = {"item": item.pk, "outcome": "collected", "weight_kg": "48"}
    r = api.post(f"{BASE}/stops/{stop.pk}/mark/", payload, format="json")  # the round is for 24 Nov, not today
    assert r.status_code == 400 and r.data["errors"][0]["field"] == "round"
    assert BookingItem.objects.get().outcome == "pending" and not Round.objects.filter(status="started").exists()
    Round.objects.update(day=timezone.localdate())
    r = api.post(f"{BASE}/stops/{stop.pk}/mark/", {"item": item.pk, "outcome": "collected"}, format="json")
    assert r.status_code == 400 and r.data["errors"][0]["field"] == "weight_kg"
    r = api.post(f"{BASE}/stops/{stop.pk}/mark/", {**payload, "weight_kg": "99999"}, format="json")
    assert r.status_code == 400 and r.data["errors"][0]["field"] == "weight_kg"
    assert BookingItem.objects.get().outcome == "pending"
    r = api.post(
        f"{BASE}/stops/{stop.pk}/mark/", {"item": item.pk, "outcome": "collected", "weight_kg": "48"}, format="json"
    )
    assert r.status_code == 200 and r.data["items"][0]["outcome"] == "collected"
    assert Booking.objects.get().status == "collected"


@pytest.mark.parametrize("n", [3, 40])
def test_api_list_query_budgets(api, area, mini, operator, django_assert_max_num_queries, n):
    for i in range(n):
        bw.book_for(
            mini.units[i % len(mini.units)],
            actor=operator,
            items=[bw.item("desk"), bw.item("mattress")],
            now=timezone.now(),
            on_duplicate="continue",
        )
    as_user(api, operator)
    for url, budget in (
        (f"{BASE}/bookings/", 6),
        (f"{BASE}/catalogue/", 4),
        (f"{BASE}/availability/?area={area.pk}", 6),
    ):
        with django_assert_max_num_queries(budget, info=url):
            assert api.get(url).status_code == 200


def test_the_openapi_document_lists_the_errors(api, db):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("schema-admin", password="x-Long-Pass-1")
    r = as_user(api, admin).get("/api/v1/schema/?format=json")
    assert r.status_code == 200
    paths = r.data["paths"] if isinstance(r.data, dict) else __import__("yaml").safe_load(r.content)["paths"]
    post = paths["/api/v1/bulky/bookings/"]["post"]
    assert {"200", "201", "400", "401", "403"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert "429" in paths["/api/v1/bulky/dumping-reports/"]["post"]["responses"]
    assert "/api/v1/bulky/availability/" in paths and "/api/v1/bulky/check-item/" in paths
