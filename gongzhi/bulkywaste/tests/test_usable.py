"""Issue 8 for bulky waste: bad input refused with every problem named at once and nothing written; messages told
once when the day is fixed and then only for a real move; the second booking of an address and half-day flagged on
every channel; rounds and stops keep their addresses across re-plans; the crew's day kept and its next stop."""

from __future__ import annotations

import json
import re
from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from gongzhi.bulkywaste import actions, selectors
from gongzhi.bulkywaste.actions import BookingError, DuplicateBooking, ItemSpec
from gongzhi.bulkywaste.models import Booking, BookingItem, DayCapacity, DayPlan, Round, RoundStop
from gongzhi.core import geo, maps
from gongzhi.core.models import AuditEntry
from gongzhi.core.sms import LocmemBackend
from gongzhi.core.tests.test_deploy_files import timer_times
from testkit import bulkywaste as bw
from testkit.world import PASSWORD

TUE = date(2026, 11, 24)


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def nothing_written():
    return not Booking.objects.exists() and not AuditEntry.objects.filter(action__startswith="bulky.book").exists()


# ------------------------------------------------------------------------------------------------ bad input


@pytest.fixture
def hotline_url(client, area, mini, operator):
    login(client, operator)
    return reverse("bulkywaste:hotline") + f"?unit={mini.units[0].pk}"


BASE = {"b-window": "morning", "b-contact_name": "张建国", "b-contact_phone": "13812345678", "action": "book"}


def summary(page: str) -> str:
    m = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert m, "no error summary at the top"
    return m.group(0)


def test_every_problem_at_once_in_the_summary_naming_field_and_row(client, hotline_url):
    data = {
        **BASE,
        "b-contact_phone": "12",
        "b-free_desc_1": "旧床",
        "b-free_cat_1": "bed",
        "b-free_kg_1": "99999",
        "b-qty_wardrobe": "1",
        "b-window": "custom",
        "b-window_start": "15:00",
        "b-window_end": "13:00",
    }
    page = client.post(hotline_url, data).content.decode()
    top = summary(page)
    assert "其他物品第2行：每件千克" in top and "#id_b-free_kg_1" in top  # the row and the column, linked
    assert "结束时间应晚于开始时间" in top and "#id_b-window_end" in top
    assert nothing_written() and not DayCapacity.objects.filter(stops_left__lt=10).exists()
    data.update({"b-window": "custom", "b-window_start": "09:00", "b-window_end": "11:00", "b-free_kg_1": "60"})
    page = client.post(hotline_url, data).content.decode()
    top = summary(page)
    assert "联系电话" in top and "#id_b-contact_phone" in top and nothing_written()


def test_times_typed_with_a_half_day_are_refused_not_replaced_by_a_default(client, hotline_url):
    page = client.post(
        hotline_url, {**BASE, "b-qty_wardrobe": "1", "b-window_start": "15:00", "b-window_end": "13:00"}
    ).content.decode()
    assert "结束时间应晚于开始时间" in summary(page) and nothing_written()
    page = client.post(
        hotline_url, {**BASE, "b-qty_wardrobe": "1", "b-window_start": "14:00", "b-window_end": "16:00"}
    ).content.decode()
    assert "指定时段" in summary(page) and nothing_written()


def test_implausible_counts_and_measures_are_refused_with_configurable_limits(area, mini, operator, settings):
    with pytest.raises(BookingError) as e:
        bw.book_for(mini.units[0], actor=operator, items=[bw.item("double_bed", 500)])
    assert e.value.field == "items[0].quantity"
    heavy = ItemSpec(description="旧床", category="bed", weight_kg=Decimal("99999"))
    with pytest.raises(BookingError) as e:
        bw.book_for(mini.units[0], actor=operator, items=[heavy])
    assert e.value.field == "items[0].weight_kg" and "旧床" in e.value.zh
    assert nothing_written()
    settings.GONGZHI_BULKY_MAX_ITEM_KG = 100_000
    assert bw.book_for(mini.units[0], actor=operator, items=[heavy]).weight_kg == Decimal("99999")


def test_every_row_is_named_at_once():
    items = [
        ItemSpec(description="旧床", category="bed", weight_kg=Decimal("-1")),
        ItemSpec(description="", category="bed"),
        ItemSpec(description="门板", category="board", length_m=Decimal("40"), quantity=900),
    ]
    fields = [p.field for p in actions.item_problems(items)]
    assert fields == ["items[0].weight_kg", "items[1].description", "items[2].quantity", "items[2].length_m"]


def test_the_other_item_rows_are_labelled_and_phone_fields_bring_the_keypad(client, hotline_url):
    page = client.get(hotline_url).content.decode()
    for n in range(3):
        for col in ("desc", "cat", "qty", "kg", "m3", "len"):
            field_id = f"id_b-free_{col}_{n}"
            assert re.search(rf'<label[^>]*for="{field_id}"[^>]*>其他物品第{n + 1}行', page), field_id
    phone = re.search(r'<input[^>]*name="b-contact_phone"[^>]*>', page).group(0)
    assert 'inputmode="tel"' in phone and 'autocomplete="tel"' in phone
    qty = re.search(r'<input[^>]*name="b-qty_wardrobe"[^>]*>', page).group(0)
    assert 'inputmode="numeric"' in qty


def test_the_honeypot_cannot_be_focused(client, area):
    page = client.get(reverse("bulkywaste:report")).content.decode()
    trap = re.search(r'<div class="hp" aria-hidden="true">.*?</div>', page, re.S).group(0)
    assert 'tabindex="-1"' in re.search(r"<input[^>]*>", trap).group(0)


# -------------------------------------------------------------------------------------------------- crews


@pytest.fixture
def planned(area, mini, operator):
    crew = bw.crew_member("crew-u", mini.subdistrict)
    bw.vehicle(area, crew=[crew])
    a = bw.book_for(mini.units[0], actor=operator, preferred_days=[TUE], items=[bw.item("wardrobe")])
    b = bw.book_for(mini.units[1], actor=operator, preferred_days=[TUE], contact_phone="13912345678")
    p, _ = DayPlan.objects.get_or_create(area=area, day=TUE)
    actions.plan_day(p.pk, iterations=100, now=bw.NOW)
    return crew, a, b, p


def test_a_record_on_a_round_that_is_not_today_is_refused_and_nothing_is_written(planned):
    crew, a, _b, _p = planned
    item = a.items.get()
    entries = AuditEntry.objects.count()
    with pytest.raises(BookingError) as e:
        actions.mark_item(item, actor=crew, outcome="collected", weight_kg=Decimal(40), now=bw.at(23, 15))
    assert e.value.field == "round"
    with pytest.raises(BookingError):
        actions.start_round(Round.objects.get(), actor=crew, now=bw.at(23, 15))
    item.refresh_from_db()
    assert item.outcome == "pending" and Round.objects.get().status == "planned"
    assert AuditEntry.objects.count() == entries
    with pytest.raises(BookingError) as e:  # on the day, but 99,999 kg for one wardrobe
        actions.mark_item(item, actor=crew, outcome="collected", weight_kg=Decimal(99_999), now=bw.at(24, 9))
    assert e.value.field == "weight_kg" and BookingItem.objects.get(pk=item.pk).outcome == "pending"


def test_the_crew_page_names_the_day_keeps_it_and_offers_the_next_stop(client, planned):
    crew, a, b, _p = planned
    Round.objects.update(day=timezone.localdate() + timedelta(days=1))
    login(client, crew)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    page = client.get(reverse("bulkywaste:crew"), {"day": tomorrow}).content.decode()
    assert "明日收运" in page and "今日收运" not in page
    first, second = RoundStop.objects.order_by("order")
    page = client.get(reverse("bulkywaste:crew_stop", args=[first.pk])).content.decode()
    assert f'href="{reverse("bulkywaste:crew")}?day={tomorrow}"' in page  # 返回路线 keeps the day
    Round.objects.update(day=timezone.localdate())
    for item in first.booking.items.all():
        r = client.post(
            reverse("bulkywaste:crew_stop", args=[first.pk]),
            {"item": item.pk, f"i{item.pk}-outcome": "collected", f"i{item.pk}-weight_kg": "30"},
        )
        assert r.status_code == 302
    page = client.get(reverse("bulkywaste:crew_stop", args=[first.pk])).content.decode()
    assert "下一站" in page and reverse("bulkywaste:crew_stop", args=[second.pk]) in page


# ---------------------------------------------------------------------------------------------- messages


def test_residents_are_told_once_when_the_day_is_fixed_then_only_of_a_real_move(
    area, mini, operator, django_capture_on_commit_callbacks, settings
):
    bw.vehicle(area)
    a = bw.book_for(mini.units[0], actor=operator, preferred_days=[TUE])
    p, _ = DayPlan.objects.get_or_create(area=area, day=TUE)
    LocmemBackend.outbox.clear()
    sent = django_capture_on_commit_callbacks

    def told_time():
        return [m for m in LocmemBackend.outbox if "预计" in m["text"]]

    def to_a():
        return [m for m in told_time() if m["to"] == a.contact_phone]

    with sent(execute=True):
        for hour in (11, 14, 17):  # re-plans before the cut-off (18:00 the day before) send nothing
            bw.book_for(mini.units[hour % 5 + 1], actor=operator, preferred_days=[TUE], contact_phone="13900000000")
            actions.plan_day(p.pk, iterations=50, now=bw.at(23, hour))
    assert told_time() == []  # (only the booking confirmations of the new bookings went out)
    with sent(execute=True):
        actions.plan_day(p.pk, iterations=50, now=bw.at(23, 18, 30))  # the day is fixed: each told once
    told = to_a()
    assert len(told) == 1 and "预计" in told[0]["text"] and a.reference in told[0]["text"]
    assert len(told_time()) == 4  # every booking of the day, once
    with sent(execute=True):
        actions.plan_day(p.pk, iterations=50, now=bw.at(23, 19))  # the same plan again: nothing new
        assert actions.send_reminders(today=date(2026, 11, 23)) == 0  # already told
    assert to_a() == told and len(told_time()) == 4
    a.refresh_from_db()
    settings.GONGZHI_BULKY_ETA_MARGIN_MINUTES = 30
    Booking.objects.filter(pk=a.pk).update(notified_eta=a.planned_eta - timedelta(minutes=20))
    with sent(execute=True):
        actions.plan_day(p.pk, iterations=50, now=bw.at(23, 19, 30))  # 20 minutes: within the margin
    assert len(to_a()) == 1
    Booking.objects.filter(pk=a.pk).update(notified_eta=a.planned_eta - timedelta(hours=2))
    with sent(execute=True):
        actions.plan_day(p.pk, iterations=50, now=bw.at(23, 20))  # two hours: told that it changed
    moved = to_a()
    assert len(moved) == 2 and "时间有变" in moved[1]["text"]


def test_a_reminder_before_the_cut_off_waits(area, mini, operator):
    bw.book_for(mini.units[0], actor=operator, preferred_days=[TUE])
    assert actions.send_reminders(now=bw.at(23, 12)) == 0
    assert actions.send_reminders(now=bw.at(23, 18, 5)) == 1
    assert actions.send_reminders(now=bw.at(23, 18, 10)) == 0


# ------------------------------------------------------------------------------------------------ duplicates


def test_a_second_booking_of_the_address_and_half_day_is_flagged_then_merged_or_booked(area, mini, operator):
    first = bw.book_for(mini.units[0], actor=operator, preferred_days=[TUE])
    entries, capacity = AuditEntry.objects.count(), DayCapacity.objects.get(day=TUE).stops_left
    with pytest.raises(DuplicateBooking) as e:
        bw.book_for(mini.units[0], actor=operator, preferred_days=[TUE], items=[bw.item("mattress")])
    assert e.value.existing == [first] and e.value.field == "on_duplicate"
    assert Booking.objects.count() == 1 and AuditEntry.objects.count() == entries
    assert DayCapacity.objects.get(day=TUE).stops_left == capacity  # the capacity taken was given back
    other_half = bw.book_for(mini.units[0], actor=operator, preferred_days=[TUE], window="afternoon")
    assert other_half.pk != first.pk  # another half-day is not a duplicate
    merged = actions.merge_into(first, actor=operator, items=[bw.item("mattress")], now=bw.NOW)
    assert merged.pk == first.pk and sorted(i.entry.code for i in merged.items.all()) == [
        "mattress",
        "three_seat_sofa",
    ]
    again = bw.book_for(mini.units[0], actor=operator, preferred_days=[TUE], on_duplicate="continue")
    audit = AuditEntry.objects.filter(action="bulky.book").latest("id")
    assert again.pk not in (first.pk, other_half.pk) and first.reference in str(audit.changes)
    assert selectors.duplicate_ids(list(Booking.objects.filter(day=TUE))) == {first.pk, again.pk}


def test_the_duplicate_is_flagged_on_the_hotline_page_and_merged_there(client, hotline_url, mini, operator):
    first = bw.book_for(mini.units[0], actor=operator, now=timezone.now())
    data = {**BASE, "b-qty_mattress": "1", "b-day": first.day.isoformat(), "idempotency_key": "d1"}
    page = client.post(hotline_url, data).content.decode()
    assert "同一地址、同一时段已有预约" in page and first.reference in page and Booking.objects.count() == 1
    r = client.post(hotline_url, {**data, "action": "", "merge_into": first.reference})
    assert r.status_code == 302 and Booking.objects.count() == 1
    assert first.items.count() == 2


def test_the_duplicate_is_flagged_by_the_api(area, mini, operator):
    first = bw.book_for(mini.units[0], actor=operator, now=timezone.now())
    api = APIClient()
    api.force_authenticate(operator)
    body = {
        "items": [{"code": "mattress"}],
        "unit": mini.units[0].pk,
        "preferred_days": [first.day.isoformat()],
        "contact_name": "张建国",
        "contact_phone": "13812345678",
        "channel": "hotline",
    }
    r = api.post("/api/v1/bulky/bookings/", body, format="json")
    assert r.status_code == 400 and r.data["errors"][0]["field"] == "on_duplicate" and Booking.objects.count() == 1
    r = api.post("/api/v1/bulky/bookings/", {**body, "on_duplicate": "merge"}, format="json")
    assert r.status_code == 200 and r.data["reference"] == first.reference and first.items.count() == 2


# ------------------------------------------------------------------------------------------------ stable URLs


def test_a_round_and_its_stops_keep_their_addresses_across_re_plans(client, planned, mini, operator, persona):
    crew, a, b, p = planned
    rnd = Round.objects.get()
    stops = {s.booking_id: s.pk for s in RoundStop.objects.all()}
    bw.book_for(mini.units[2], actor=operator, preferred_days=[TUE], contact_phone="13700000000")
    actions.plan_day(p.pk, iterations=100, now=bw.at(23, 12))
    assert list(Round.objects.values_list("pk", flat=True)) == [rnd.pk]
    after = {s.booking_id: s.pk for s in RoundStop.objects.all()}
    assert after[a.pk] == stops[a.pk] and after[b.pk] == stops[b.pk] and len(after) == 3
    login(client, crew)
    assert client.get(reverse("bulkywaste:round", args=[rnd.pk])).status_code == 200
    assert client.get(reverse("bulkywaste:crew_stop", args=[stops[a.pk]])).status_code == 200


def test_figures_are_written_as_people_write_them():
    assert str(selectors.tidy(Decimal("569.2400000000000"), 2)) == "569.24"
    assert str(selectors.tidy(Decimal("12.000"), 3)) == "12"
    assert str(selectors.tidy(Decimal("1200.5"), 2)) == "1200.5"
    assert str(selectors.money(Decimal("3.1"))) == "3.10"


def test_window_time_rules():
    assert actions.window_times("custom", time(9), time(11)) == (time(9), time(11))
    for start, end in ((time(11), time(9)), (time(9), time(9, 30))):
        with pytest.raises(BookingError):
            actions.window_times("custom", start, end)


# ------------------------------------------------------------------------------------------------------ maps


def test_the_dispatcher_and_the_crew_see_the_day_as_a_vector_map_without_javascript(client, planned, area, persona):
    crew, a, b, p = planned
    dispatcher = persona("dispatcher", area.node)
    login(client, dispatcher)
    page = client.get(reverse("bulkywaste:dispatch"), {"area": area.pk, "day": TUE.isoformat()}).content.decode()
    svg = re.search(r'<svg class="map-svg".*?</svg>', page, re.S).group(0)
    assert svg.count("<circle") == 2 and "<polyline" in svg and a.address in svg  # two stops, the route
    assert 'class="timeline"' in page and "<meter" in page and "leaflet" not in page  # no tiles configured
    assert "/ 12000" in page  # the load against the vehicle's capacity
    login(client, crew)
    page = client.get(reverse("bulkywaste:crew"), {"day": TUE.isoformat()}).content.decode()
    assert page.count("<circle") == 2 and "map.js" in page and "http" not in re.sub(r'href="[^"]*"', "", svg)


def test_with_a_tile_source_leaflet_is_served_locally_and_points_are_converted(client, planned, area, settings):
    crew, a, _b, _p = planned
    settings.GONGZHI_MAP_TILES = "/static/test-tiles/{z}/{x}/{y}.png"
    login(client, crew)
    page = client.get(reverse("bulkywaste:crew"), {"day": TUE.isoformat()}).content.decode()
    assert "gongzhi/vendor/leaflet-1.9.4/leaflet.js" in page and 'class="leaflet-map"' in page
    data = json.loads(re.search(r'<script id="crew-map" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert data["url"] == settings.GONGZHI_MAP_TILES and data["datum"] == "gcj02"
    lat, lon = geo.wgs84_to_gcj02(float(a.latitude), float(a.longitude))
    stop = next(pt for pt in data["points"] if pt["title"] == a.address)
    assert stop["at"] == [round(lat, 6), round(lon, 6)]
    assert all(not src.startswith(("http:", "https:", "//")) for src in re.findall(r'src="([^"]+)"', page))
    settings.GONGZHI_MAP_TILES_DATUM = "wgs84"
    assert maps.to_storage("34.7", "113.6", "map") == (Decimal("34.700000"), Decimal("113.600000"))


# ------------------------------------------------------------------------------------------------- addresses


@pytest.fixture
def drafting(client, area, resident):
    login(client, resident)
    session = client.session
    session["gz_bulky_draft"] = {"items": [{"code": "wardrobe", "quantity": 1}]}
    session.save()
    return client


def test_a_resident_finds_another_address_in_the_registry(drafting, mini):
    url = reverse("bulkywaste:book_where")
    page = drafting.get(url).content.decode()
    assert "WGS-84" not in page and "纬度" not in page and "使用我的位置" in page
    unit = mini.units[3]
    page = drafting.get(url, {"q": f"油漆厂 {unit.number}"}).content.decode()
    assert f'name="unit" value="{unit.pk}"' in page
    assert f'name="unit" value="{mini.units[2].pk}"' not in page  # the unit number narrows the list
    r = drafting.post(url, {"unit": unit.pk})
    assert r.status_code == 302 and drafting.session["gz_bulky_draft"]["unit"] == unit.pk


def test_another_address_without_a_point_is_placed_near_its_community(drafting, mini):
    url = reverse("bulkywaste:book_where")
    r = drafting.post(url, {"place": "other", "address": "福华街口报亭旁", "node": mini.community.pk})
    assert r.status_code == 302
    draft = drafting.session["gz_bulky_draft"]
    assert draft["address"] == "福华街口报亭旁" and draft["latitude"] and draft["longitude"]
    r = drafting.post(
        url,
        {"place": "other", "address": "福华街口", "node": mini.community.pk, "latitude": "34.7361",
         "longitude": "113.6422", "source": "device"},
    )  # fmt: skip
    assert r.status_code == 302 and drafting.session["gz_bulky_draft"]["latitude"] == "34.736100"


def test_a_point_picked_on_a_gcj02_map_is_stored_in_wgs84(drafting, mini, settings):
    settings.GONGZHI_MAP_TILES = "/static/test-tiles/{z}/{x}/{y}.png"
    url = reverse("bulkywaste:book_where")
    page = drafting.get(url).content.decode()
    assert 'data-pick="id_latitude,id_longitude,id_source"' in page and "leaflet-1.9.4/leaflet.js" in page
    glat, glon = geo.wgs84_to_gcj02(34.7361, 113.6422)
    drafting.post(
        url,
        {"place": "other", "address": "福华街口", "node": mini.community.pk, "latitude": f"{glat:.6f}",
         "longitude": f"{glon:.6f}", "source": "map"},
    )  # fmt: skip
    draft = drafting.session["gz_bulky_draft"]
    assert abs(Decimal(draft["latitude"]) - Decimal("34.7361")) < Decimal("0.00001")


def test_dumping_is_reported_with_the_phones_location_or_none(client, area, mini):
    from django.core.cache import cache

    cache.clear()  # the per-address rate limit of earlier tests
    url = reverse("bulkywaste:report")
    page = client.get(url).content.decode()
    assert "WGS-84" not in page and "纬度" not in page
    base = {"description": "旧沙发两个", "address": "3号楼西侧", "node": mini.community.pk}
    client.post(url, {**base, "latitude": "34.7361", "longitude": "113.6422", "source": "device"})
    client.post(url, {**base, "address": "4号楼东侧"}, REMOTE_ADDR="10.0.0.9")
    from gongzhi.bulkywaste.models import DumpingReport

    located, unlocated = DumpingReport.objects.order_by("id")
    assert str(located.latitude) == "34.736100" and unlocated.latitude is None


def test_english_pages_name_rows_categories_and_catalogue_items_in_english(client, hotline_url, planned):
    client.cookies["django_language"] = "en"
    page = client.get(hotline_url).content.decode()
    assert "other item, row 1: name" in page and "Wardrobe" in page.title() and "其他物品第" not in page
    assert '<option value="bed">bed</option>' in page and '<option value="bed">床</option>' not in page
    page = client.get(reverse("bulkywaste:start")).content.decode()
    assert "Refrigerator" in page.title() and "冰箱" not in page


@pytest.mark.parametrize("cutoff", [time(18, 0), time(16, 30), time(21, 45)])
def test_the_deployed_reminder_timer_tells_every_booking_soon_after_its_areas_cut_off(area, mini, operator, cutoff):
    # The pickup-time message waits for the area's cut-off (the day is then fixed); the timer must run after it,
    # whatever the area set, or nobody is told (a 16:00 timer with the default 18:00 cut-off told no one).
    area.cutoff_time = cutoff
    area.save(update_fields=["cutoff_time"])
    bw.book_for(mini.units[0], actor=operator, preferred_days=[TUE])
    told_at = None
    for fire in timer_times("gongzhi-bulky-reminders.timer"):  # read from deploy/systemd
        now = bw.at(23, fire.hour, fire.minute)
        if actions.send_reminders(now=now):
            told_at = now
            break
    assert told_at is not None, "never told"
    fixed = bw.at(23, cutoff.hour, cutoff.minute)
    assert fixed <= told_at <= fixed + timedelta(minutes=15)
