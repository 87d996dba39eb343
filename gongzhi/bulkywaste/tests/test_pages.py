"""Pages: the resident's flow, the hotline screen, the compound booking, dispatch, crew, rating, dumping,
figures — and who may open which page."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from PIL import Image

from gongzhi.bulkywaste import actions
from gongzhi.bulkywaste.models import Booking, DayPlan, DumpingReport, Round, RoundStop
from gongzhi.core.models import AuditEntry
from testkit import bulkywaste as bw
from testkit.world import PASSWORD


def png(name="p.png"):
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(out, "PNG")
    out.name = name
    out.seek(0)
    return out


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def test_the_start_page_says_what_is_not_bulky_and_shows_the_hotline(client, area):
    body = client.get(reverse("bulkywaste:start")).content.decode()
    assert "冰箱" in body and "废旧家电回收" in body and "0371-68989517" in body


def test_a_resident_books_in_six_steps(client, area, mini, resident, django_capture_on_commit_callbacks):
    login(client, resident)
    r = client.post(reverse("bulkywaste:book_items"), {"action": "continue"})
    assert "请至少添加一件物品" in r.content.decode()
    fridge = client.post(reverse("bulkywaste:book_items"), {"action": "add", "pick-entry": "", "pick-quantity": 1})
    assert fridge.status_code == 200
    from gongzhi.bulkywaste.models import CatalogueEntry

    fridge = CatalogueEntry.objects.get(code="refrigerator")
    r = client.post(reverse("bulkywaste:book_items"), {"action": "add", "pick-entry": fridge.pk, "pick-quantity": 1})
    body = r.content.decode()
    assert "error-summary" in body and "“冰箱”不能预约" in body and "废旧家电回收" in body
    sofa = CatalogueEntry.objects.get(code="three_seat_sofa")
    r = client.post(reverse("bulkywaste:book_items"), {"action": "add", "pick-entry": sofa.pk, "pick-quantity": 2})
    assert r.status_code == 302
    r = client.post(
        reverse("bulkywaste:book_items"),
        {
            "action": "other",
            "other-description": "旧门板",
            "other-category": "board",
            "other-quantity": 1,
            "other-length_m": "2.1",
            "other-integral": "on",
        },
    )
    assert r.status_code == 302
    r = client.post(reverse("bulkywaste:book_items"), {"action": "continue"})
    assert r["Location"] == reverse("bulkywaste:book_where")
    page = client.get(reverse("bulkywaste:book_where")).content.decode()
    assert "福华街12号" in page
    r = client.post(reverse("bulkywaste:book_where"), {"place": str(mini.units[0].pk)})
    assert r["Location"] == reverse("bulkywaste:book_when")
    page = client.get(reverse("bulkywaste:book_when")).content.decode()
    day = re.search(r'name="day" value="([\d-]+)"', page).group(1)
    r = client.post(reverse("bulkywaste:book_when"), {"day": day, "window": "afternoon"})
    assert r["Location"] == reverse("bulkywaste:book_contact")
    page = client.get(reverse("bulkywaste:book_contact")).content.decode()
    assert "13812345678" in page  # prefilled from the resident's own record
    r = client.post(reverse("bulkywaste:book_contact"), {"contact_name": "张建国", "contact_phone": "123"})
    assert "手机号" in r.content.decode()
    client.post(reverse("bulkywaste:book_contact"), {"contact_name": "张建国", "contact_phone": "13812345678"})
    r = client.post(reverse("bulkywaste:book_photos"), {"photo": png(), "notes": "放在单元门口", "action": "next"})
    assert r["Location"] == reverse("bulkywaste:book_check")
    page = client.get(reverse("bulkywaste:book_check")).content.decode()
    assert "三人沙发 × 2" in page and "旧门板 × 1" in page and "免费" in page and "1张照片" in page
    key = re.search(r'name="idempotency_key" value="(\w+)"', page).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("bulkywaste:book_check"), {"idempotency_key": key})
    booking = Booking.objects.get()
    assert r["Location"] == reverse("bulkywaste:booking_done", args=[booking.reference])
    assert booking.channel == "web" and booking.booked_by == resident and booking.photos.count() == 1
    assert booking.photos.get().upload.scope_path == mini.units[0].path  # the crew of that area may see it
    assert booking.day == date.fromisoformat(day) and booking.window == "afternoon" and booking.notes == "放在单元门口"
    done = client.get(r["Location"]).content.decode()
    assert booking.reference in done and "0371-68989517" in done
    # The back button and a second submit do not book twice.
    client.post(reverse("bulkywaste:book_check"), {"idempotency_key": key})
    assert Booking.objects.count() == 1
    mine = client.get(reverse("bulkywaste:mine")).content.decode()
    assert booking.reference in mine
    detail = client.get(reverse("bulkywaste:booking", args=[booking.reference])).content.decode()
    assert "13812345678" in detail and "修改预约" in detail


def test_the_resident_amends_and_cancels(client, area, mini, resident):
    login(client, resident)
    b = bw.book_for(mini.units[0], actor=resident, channel="web", now=timezone.now())
    days = actions.serving_days(area)
    other = next(d for d in days if d != b.day)
    r = client.post(
        reverse("bulkywaste:booking_amend", args=[b.reference]),
        {"day": other.isoformat(), "window": "afternoon", "notes": ""},
    )
    assert r.status_code == 302
    b.refresh_from_db()
    assert b.day == other and b.window == "afternoon"
    r = client.post(reverse("bulkywaste:booking_cancel", args=[b.reference]), {"reason": "不扔了"})
    b.refresh_from_db()
    assert b.status == "cancelled"


def test_the_resident_changes_the_items_on_the_amend_page(client, area, mini, resident):
    login(client, resident)
    b = bw.book_for(
        mini.units[0],
        actor=resident,
        channel="web",
        items=[
            bw.item("wardrobe"),
            actions.ItemSpec(description="旧木门", category="board", quantity=2, length_m=Decimal("2.0")),
        ],
        now=timezone.now(),
    )
    url = reverse("bulkywaste:booking_amend", args=[b.reference])
    page = client.get(url).content.decode()
    assert 'name="qty_wardrobe"' in page and 'value="1"' in page and "旧木门 × 2" in page
    assert re.search(r'<input type="checkbox" name="keep_\d+"[^>]*checked', page)
    door = b.items.get(description="旧木门")
    same = {"day": b.day.isoformat(), "window": b.window, "notes": "", "items_shown": "1"}
    volume = b.volume_litres
    # One more wardrobe, a desk, the door kept.
    r = client.post(url, {**same, "qty_wardrobe": "2", "qty_desk": "1", f"keep_{door.pk}": "on"})
    assert r.status_code == 302, r.content.decode()[:3000]
    b.refresh_from_db()
    got = {(i.entry.code if i.entry else i.description, i.quantity) for i in b.items.all()}
    assert got == {("wardrobe", 2), ("desk", 1), ("旧木门", 2)}
    assert b.volume_litres > volume
    assert AuditEntry.objects.filter(action="bulky.amend", changes__items="replaced").exists()
    # The door taken off (its box unticked), the desk set to 0.
    r = client.post(url, {**same, "qty_wardrobe": "2", "qty_desk": "0"})
    b.refresh_from_db()
    assert [i.quantity for i in b.items.all()] == [2] and not b.items.filter(description="旧木门").exists()
    # Nothing left is refused, naming the reason, and nothing changes.
    page = client.post(url, {**same, "qty_wardrobe": "0"}).content.decode()
    assert "请至少添加一件物品" in page and b.items.count() == 1


def test_the_hotline_finds_the_caller_and_reads_the_booking_back(client, area, mini, operator):
    login(client, operator)
    page = client.post(reverse("bulkywaste:hotline"), {"lookup": "1", "q": "138 1234 5678"}).content.decode()
    assert f"?unit={mini.units[0].pk}" in page
    refused = client.get(reverse("bulkywaste:hotline"), {"q": "138 1234 5678"})  # a number in the address
    assert refused.status_code == 400 and "不能放在网址里" in refused.content.decode()
    assert f"?unit={mini.units[0].pk}" not in refused.content.decode()
    page = client.get(reverse("bulkywaste:hotline"), {"q": f"油漆厂 {mini.units[1].number}"}).content.decode()
    assert f"?unit={mini.units[1].pk}" in page
    url = reverse("bulkywaste:hotline") + f"?unit={mini.units[0].pk}"
    page = client.get(url).content.decode()
    assert "138****5678" in page and "13812345678" not in page  # the residents' phones are masked
    person = mini.units[0].residences.first().person
    data = {
        "b-qty_wardrobe": "1",
        "b-qty_refrigerator": "",
        "b-window": "morning",
        "b-contact_name": "张建国",
        "b-contact_phone": "13812345678",
        "b-on_behalf_of": str(person.pk),
        "action": "preview",
        "idempotency_key": "x1",
    }
    page = client.post(url, data).content.decode()
    assert "可约日期" in page and not Booking.objects.exists()
    bad = client.post(url, {**data, "b-qty_refrigerator": "1", "action": "book"}).content.decode()
    assert "冰箱" in bad and "废旧家电回收" in bad and not Booking.objects.exists()
    r = client.post(url, {**data, "action": "book"})
    booking = Booking.objects.get()
    assert r["Location"] == reverse("bulkywaste:staff_done", args=[booking.reference])
    assert booking.channel == "hotline" and booking.on_behalf_of == person and booking.booked_by == operator
    page = client.get(r["Location"]).content.decode()
    assert "衣柜1件" in page and "尾号5678" in page and booking.reference in page and "0371-68989517" in page


def test_the_property_manager_books_for_the_compound(client, mini, persona):
    area = bw.service_area(mini.subdistrict, daily_volume_litres=100_000)
    manager = persona("property_manager", mini.courtyard)
    login(client, manager)
    page = client.get(reverse("bulkywaste:compound")).content.decode()
    assert "油漆厂家属院" in page
    r = client.post(
        reverse("bulkywaste:compound"),
        {
            "b-qty_wardrobe": "20",
            "b-qty_three_seat_sofa": "10",
            "b-window": "morning",
            "b-contact_name": "物业王经理",
            "b-contact_phone": "13900000001",
            "action": "book",
            "idempotency_key": "c1",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    b = Booking.objects.get()
    assert b.channel == "property" and b.compound == mini.courtyard and b.item_count == 30 and b.area == area


@pytest.fixture
def day_with_round(area, mini, operator):
    crew = bw.crew_member("crew-a", mini.subdistrict)
    bw.vehicle(area, crew=[crew])
    today = timezone.localdate()
    b = bw.book_for(mini.units[0], actor=operator, items=[bw.item("wardrobe"), bw.item("desk")], now=timezone.now())
    Booking.objects.filter(pk=b.pk).update(day=today)  # as if booked earlier for today
    plan, _ = DayPlan.objects.get_or_create(area=area, day=today)
    actions.plan_day(
        plan.pk, iterations=100, now=timezone.make_aware(timezone.datetime.combine(today, timezone.datetime.min.time()))
    )
    return crew, Booking.objects.get(pk=b.pk)


def test_the_dispatcher_sees_the_day_and_re_plans(
    client, area, dispatcher, day_with_round, django_capture_on_commit_callbacks
):
    login(client, dispatcher)
    page = client.get(reverse("bulkywaste:dispatch")).content.decode()
    assert day_with_round[1].reference in page and "重新排线" in page
    with django_capture_on_commit_callbacks(execute=False):
        r = client.post(reverse("bulkywaste:dispatch_plan"), {"area": area.pk, "day": timezone.localdate().isoformat()})
    assert r.status_code == 302 and DayPlan.objects.get().status == "queued"
    rnd = Round.objects.get()
    page = client.get(reverse("bulkywaste:round", args=[rnd.pk])).content.decode()
    assert "uri.amap.com" in page


def test_the_urgent_page(client, area, mini, dispatcher, django_capture_on_commit_callbacks):
    bw.vehicle(area)
    login(client, dispatcher)
    url = reverse("bulkywaste:dispatch_urgent") + f"?compound={mini.courtyard.pk}"
    assert "加急原因" in client.get(url).content.decode()
    data = {
        "b-qty_wardrobe": "3",
        "b-window": "custom",
        "b-window_end": "23:59",
        "b-contact_name": "王经理",
        "b-contact_phone": "13900000001",
        "action": "book",
    }
    page = client.post(url, data).content.decode()
    assert "请填写加急原因" in page
    with django_capture_on_commit_callbacks(execute=False):
        r = client.post(url, {**data, "b-reason": "物业来电，楼道堵塞"})
    assert r.status_code == 302
    b = Booking.objects.get()
    assert b.urgent and b.day == timezone.localdate() and DayPlan.objects.filter(day=b.day).exists()


def test_the_crew_phone_page(client, day_with_round, operator):
    crew, booking = day_with_round
    login(client, crew)
    page = client.get(reverse("bulkywaste:crew")).content.decode()
    assert booking.address in page and "138****5678" in page and "13812345678" not in page
    stop = RoundStop.objects.get()
    url = reverse("bulkywaste:crew_stop", args=[stop.pk])
    page = client.get(url).content.decode()
    assert "13812345678" not in page and "uri.amap.com" in page
    page = client.post(url, {"action": "open"}).content.decode()
    assert "13812345678" in page and AuditEntry.objects.filter(action="pii.view", actor=crew).exists()
    wardrobe, desk = booking.items.all()
    page = client.post(url, {"item": wardrobe.pk, f"i{wardrobe.pk}-outcome": "collected"}).content.decode()
    assert "已收运的物品须填写重量" in page
    r = client.post(
        url,
        {
            "item": wardrobe.pk,
            f"i{wardrobe.pk}-outcome": "collected",
            f"i{wardrobe.pk}-weight_kg": "70",
            f"i{wardrobe.pk}-photo": png(),
        },
    )
    assert r.status_code == 302
    client.post(url, {"item": desk.pk, f"i{desk.pk}-outcome": "not_found"})
    booking.refresh_from_db()
    assert booking.status == "partly" and Round.objects.get().status == "completed"
    wardrobe.refresh_from_db()
    assert wardrobe.outcome_photo is not None
    # The resident rates once, by the link.
    client.logout()
    url = reverse("bulkywaste:rate", args=[booking.rating_token])
    assert "评分" in client.get(url).content.decode()
    assert "感谢" in client.post(url, {"score": "4", "comment": "好"}).content.decode()
    assert "已评价" in client.get(url).content.decode()
    assert client.get(reverse("bulkywaste:rate", args=["nope"])).status_code == 404


def test_anyone_reports_dumping_rate_limited_with_a_honeypot(client, area, mini, persona):
    cache.clear()
    url = reverse("bulkywaste:report")
    page = client.get(url).content.decode()
    assert 'class="hp"' in page
    data = {"description": "3号楼西侧旧沙发", "node": str(mini.community.pk), "address": "福华街12号院内"}
    r = client.post(url, {**data, "website": "http://spam"})
    assert "已收到" in r.content.decode() and not DumpingReport.objects.exists()
    for _ in range(5):
        assert "JB-" in client.post(url, {**data, "photo": png()}).content.decode()
    assert client.post(url, data).status_code == 429
    assert DumpingReport.objects.count() == 5
    worker = persona("community_worker")
    login(client, worker)
    page = client.get(reverse("bulkywaste:dumping")).content.decode()
    assert "3号楼西侧旧沙发" in page
    report = DumpingReport.objects.first()
    client.post(reverse("bulkywaste:dumping_detail", args=[report.pk]), {"action": "assign"})
    client.post(reverse("bulkywaste:dumping_detail", args=[report.pk]), {"action": "resolve", "resolution": "已清运"})
    report.refresh_from_db()
    assert report.status == "resolved" and report.assigned_to == worker
    stranger = persona("community_worker", mini.other_subdistrict)
    login(client, stranger)
    assert "3号楼西侧旧沙发" not in client.get(reverse("bulkywaste:dumping")).content.decode()
    assert client.get(reverse("bulkywaste:dumping_detail", args=[report.pk])).status_code == 404


def test_a_resent_dumping_report_is_filed_once(client, area, mini):
    """The report form carries a key (core.once): the browser's "resend" after an unclear failure files one report."""
    from gongzhi.core.once import FIELD

    cache.clear()
    url = reverse("bulkywaste:report")
    key = re.search(rf'name="{FIELD}" value="([^"]+)"', client.get(url).content.decode()).group(1)
    data = {FIELD: key, "description": "楼道里的旧床垫", "node": str(mini.community.pk), "address": "福华街12号院内"}
    assert "JB-" in client.post(url, data).content.decode()
    client.post(url, data)  # the same submission again
    assert DumpingReport.objects.filter(description="楼道里的旧床垫").count() == 1


def _collected_day(area, mini, operator):
    """Two bookings collected on Tue 24 Nov: figures hand-checked in the test below."""
    crew = bw.crew_member("crew-f", mini.subdistrict)
    bw.vehicle(area, crew=[crew])
    bw.rates(date(2026, 1, 1))
    a = bw.book_for(
        mini.units[0],
        actor=operator,
        items=[bw.item("wardrobe"), bw.item("desk", 2)],
        preferred_days=[date(2026, 11, 24)],
    )
    b = bw.book_for(mini.units[1], actor=operator, items=[bw.item("mattress")], preferred_days=[date(2026, 11, 24)])
    plan, _ = DayPlan.objects.get_or_create(area=area, day=date(2026, 11, 24))
    actions.plan_day(plan.pk, iterations=100, now=bw.NOW)
    Round.objects.update(distance_m=10_000, start_at=bw.at(24, 8), end_at=bw.at(24, 10))
    wardrobe, desks = a.items.all()
    actions.mark_item(wardrobe, actor=crew, outcome="collected", weight_kg=Decimal(80), now=bw.at(24, 9))
    actions.mark_item(desks, actor=crew, outcome="collected", weight_kg=Decimal(40), now=bw.at(24, 9))
    actions.mark_item(b.items.get(), actor=crew, outcome="collected", weight_kg=Decimal(20), now=bw.at(24, 14))
    return a, b


def test_figures_hand_checked(client, area, mini, operator, dispatcher):
    """wardrobe 1 × 1.44 m³, 80 kg; desks 2 × 0.6 m³, 40 kg; mattress 0.72 m³, 20 kg. On time: a (09:00 in
    08–12) yes, b (14:00 for 08–12) no → 50.0 %. Costs: 10 km × 3.50 = 35.00; 2 h × 1 crew × 40 = 80.00;
    140 kg × 0.20 = 28.00 → 143.00 over 2 pickups = 71.50."""
    _collected_day(area, mini, operator)
    f = __import__("gongzhi.bulkywaste.selectors", fromlist=["figures"]).figures(
        dispatcher, date(2026, 11, 1), date(2026, 11, 30)
    )
    cats = {r["category"]: (r["pieces"], r["volume_m3"], r["weight_kg"]) for r in f.by_category}
    assert cats == {
        "wardrobe": (1, Decimal("1.44"), Decimal("80")),
        "table": (2, Decimal("1.2"), Decimal("40")),
        "mattress": (1, Decimal("0.72"), Decimal("20")),
    }
    assert f.by_area == [
        {"booking__area__name": "福华街街道", "pieces": 4, "volume_m3": Decimal("3.36"), "weight_kg": Decimal("140")}
    ]
    assert (
        f.on_time_rate == Decimal("50.0")
        and f.cost_total == Decimal("143.00")
        and f.cost_per_pickup == Decimal("71.50")
    )
    login(client, dispatcher)
    page = client.get(reverse("bulkywaste:figures"), {"from": "2026-11-01", "to": "2026-11-30"}).content.decode()
    assert "50.0%" in page and "71.50" in page and "<svg" in page and "衣柜" in page
    r = client.get(reverse("bulkywaste:figures_xlsx"), {"from": "2026-11-01", "to": "2026-11-30"})
    wb = load_workbook(io.BytesIO(r.content))
    summary = {row[0]: row[1] for row in wb["概况 Summary"].iter_rows(values_only=True)}
    assert summary["单次成本（元） Cost per pickup (CNY)"] == 71.5
    assert [row for row in wb["按片区 By area"].iter_rows(values_only=True)][1] == ("福华街街道", 4, 3.36, 140.0)
    assert [row for row in wb["台账 Ledger"].iter_rows(values_only=True)][1][4:] == (2, 10.0, 2.0, 140.0, 143.0)
    a, _b = Booking.objects.order_by("id")
    detail = client.get(reverse("bulkywaste:booking", args=[a.reference])).content.decode()
    assert "成本台账" in detail and "车辆里程" in detail
    # A worker of the other subdistrict sees none of it.
    other = __import__("gongzhi.bulkywaste.selectors", fromlist=["figures"]).figures(
        type(dispatcher).objects.get(pk=dispatcher.pk) if False else _stranger(mini),
        date(2026, 11, 1),
        date(2026, 11, 30),
    )
    assert other.by_area == [] and other.cost_total == 0


def _stranger(mini):
    from testkit.world import make_user

    return make_user("stranger-f", "community_worker", mini.other_subdistrict)


PAGES = {
    "start": (
        lambda ctx: reverse("bulkywaste:start"),
        {"anon": 200, "resident": 200, "operator": 200, "dispatcher": 200, "crew": 200, "stranger": 200},
    ),
    "mine": (
        lambda ctx: reverse("bulkywaste:mine"),
        {"anon": 302, "resident": 200, "operator": 200, "dispatcher": 200, "crew": 200, "stranger": 200},
    ),
    "booking": (
        lambda ctx: reverse("bulkywaste:booking", args=[ctx["booking"].reference]),
        {"anon": 302, "resident": 200, "operator": 200, "dispatcher": 200, "crew": 200, "stranger": 404},
    ),
    "hotline": (
        lambda ctx: reverse("bulkywaste:hotline"),
        {"anon": 302, "resident": 403, "operator": 200, "dispatcher": 403, "crew": 403, "stranger": 200},
    ),
    "staff_bookings": (
        lambda ctx: reverse("bulkywaste:staff_bookings"),
        {"anon": 302, "resident": 403, "operator": 200, "dispatcher": 200, "crew": 403, "stranger": 200},
    ),
    "dispatch": (
        lambda ctx: reverse("bulkywaste:dispatch"),
        {"anon": 302, "resident": 403, "operator": 403, "dispatcher": 200, "crew": 403, "stranger": 403},
    ),
    "crew": (
        lambda ctx: reverse("bulkywaste:crew"),
        {"anon": 302, "resident": 403, "operator": 403, "dispatcher": 200, "crew": 200, "stranger": 403},
    ),
    "crew_stop": (
        lambda ctx: reverse("bulkywaste:crew_stop", args=[ctx["stop"].pk]),
        {"anon": 302, "resident": 404, "operator": 404, "dispatcher": 200, "crew": 200, "stranger": 404},
    ),
    "dumping": (
        lambda ctx: reverse("bulkywaste:dumping"),
        {"anon": 302, "resident": 403, "operator": 403, "dispatcher": 200, "crew": 403, "stranger": 200},
    ),
    "figures": (
        lambda ctx: reverse("bulkywaste:figures"),
        {"anon": 302, "resident": 403, "operator": 403, "dispatcher": 200, "crew": 403, "stranger": 200},
    ),
    "report": (
        lambda ctx: reverse("bulkywaste:report"),
        {"anon": 200, "resident": 200, "operator": 200, "dispatcher": 200, "crew": 200, "stranger": 200},
    ),
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_permission_matrix(client, area, mini, persona, resident, operator, dispatcher, day_with_round, page):
    crew, booking = day_with_round
    booking.booked_by = resident
    booking.save()
    users = {
        "anon": None,
        "resident": resident,
        "operator": operator,
        "dispatcher": dispatcher,
        "crew": crew,
        "stranger": persona("community_worker", mini.other_subdistrict),
    }
    ctx = {"booking": booking, "stop": RoundStop.objects.get()}
    url_of, expected = PAGES[page]
    for who, status in expected.items():
        client.logout()
        if users[who] is not None:
            login(client, users[who])
        got = client.get(url_of(ctx)).status_code
        assert got == status, f"{page} as {who}: {got} != {status}"


@pytest.mark.parametrize("n", [3, 30])
def test_list_pages_query_budgets(client, area, mini, operator, dispatcher, persona, django_assert_max_num_queries, n):
    today = timezone.localdate()
    for i in range(n):
        b = bw.book_for(mini.units[i % len(mini.units)], actor=operator, now=timezone.now())
        Booking.objects.filter(pk=b.pk).update(day=today, booked_by=operator)
        actions.report_dumping(actor=None, description=f"沙发{i}", node=mini.courtyard, address="院内")
    bw.vehicle(area, volume=60_000, weight=9_000)
    bw.vehicle(area, "2号车")
    plan, _ = DayPlan.objects.get_or_create(area=area, day=today)
    actions.plan_day(plan.pk, iterations=50, now=bw.at(1, 0, 0))
    assert RoundStop.objects.count() == n
    worker = persona("community_worker")
    budgets = [
        (operator, reverse("bulkywaste:staff_bookings"), 12),
        (operator, reverse("bulkywaste:mine"), 12),
        (dispatcher, reverse("bulkywaste:dispatch"), 16),
        (worker, reverse("bulkywaste:dumping"), 12),
        (dispatcher, reverse("bulkywaste:figures"), 16),
    ]
    for user, url, budget in budgets:
        login(client, user)
        with django_assert_max_num_queries(budget, info=url):
            assert client.get(url).status_code == 200


def test_the_hotline_books_a_free_text_address_without_typing_coordinates(client, area, mini, operator):
    """Nobody types coordinates: a point picked on the map (or the phone's) comes in hidden fields; without one the
    address is placed near its community."""
    login(client, operator)
    base = reverse("bulkywaste:hotline")
    page = client.get(base, {"free": 1}).content.decode()
    assert "WGS-84" not in page and "纬度" not in page and 'type="hidden" name="f-latitude"' in page
    bad = client.get(base, {"free": 1, "f-address": "福华街口报亭旁", "f-node": mini.community.pk, "f-latitude": "95",
                            "f-longitude": "113.64", "f-source": "device"}).content.decode()  # fmt: skip
    assert "error-summary" in bad and "b-contact_name" not in bad
    query = {"free": 1, "f-address": "福华街口报亭旁", "f-node": mini.community.pk, "f-latitude": "34.7361",
             "f-longitude": "113.6422", "f-source": "device"}  # fmt: skip
    page = client.get(base, query).content.decode()
    assert "福华街口报亭旁" in page and "b-contact_name" in page
    from urllib.parse import urlencode

    r = client.post(
        f"{base}?{urlencode(query)}",
        {"b-qty_bookcase": "1", "b-window": "afternoon", "b-contact_name": "报亭李师傅", "b-contact_phone": "13700000009",
         "action": "book"},
    )  # fmt: skip
    assert r.status_code == 302
    b = Booking.objects.get()
    assert b.unit is None and b.path == mini.community.path and str(b.latitude) == "34.736100"
    near = {"free": 1, "f-address": "福华街口东侧", "f-node": mini.community.pk}
    page = client.get(base, near).content.decode()
    assert "福华街口东侧" in page and "b-contact_name" in page  # placed near the community, nothing typed


def test_the_start_page_shows_each_role_its_way_in(client, area, operator, dispatcher):
    login(client, operator)
    page = client.get(reverse("bulkywaste:start")).content.decode()
    assert reverse("bulkywaste:hotline") in page and reverse("bulkywaste:dispatch") not in page
    login(client, dispatcher)
    page = client.get(reverse("bulkywaste:start")).content.decode()
    assert reverse("bulkywaste:dispatch") in page and reverse("bulkywaste:figures") in page


def test_the_compound_pickers_work_with_thousands_of_compounds(client, area, mini, dispatcher, monkeypatch):
    """The list shows at most PICKER_LIMIT; typing part of a name finds any other, and a chosen one is read by id."""
    from gongzhi.bulkywaste import views
    from gongzhi.registry import actions as registry
    from gongzhi.registry import models as registry_models
    from testkit import world as testing

    monkeypatch.setattr(views, "PICKER_LIMIT", 3)  # as if the district had more compounds than a list can show
    for i in range(5):
        est = registry.create_area_node(
            actor=None, parent=mini.community, level=testing.level("estate"), name=f"新村{i}"
        )
        registry.create_area_node(actor=None, parent=est, level=testing.level("courtyard"), name=f"新村{i}楼院")
    last = registry_models.AreaNode.objects.get(name="新村4楼院")
    login(client, dispatcher)
    url = reverse("bulkywaste:dispatch_urgent")
    page = client.get(url).content.decode()
    assert "只列出前3个楼院" in page and "新村4楼院" not in page
    page = client.get(url, {"cq": "新村4"}).content.decode()
    assert f'value="{last.pk}"' in page and "只列出前" not in page
    page = client.get(url, {"compound": last.pk}).content.decode()
    assert "新村4楼院尚未登记坐标" in page  # said plainly, not a server error
    registry_models.CompoundProfile.objects.create(
        node=last, management="unmanaged", latitude=Decimal("34.74"), longitude=Decimal("113.64")
    )
    page = client.get(url, {"compound": last.pk}).content.decode()
    assert "加急原因" in page and "新村4楼院" in page
    assert client.get(url, {"compound": mini.other_courtyard.pk}).status_code == 404  # outside the scope
    assert "没有找到" in client.get(url, {"cq": "没有这个"}).content.decode()


def test_a_refusal_is_shown_in_the_pages_language(client, area, mini, dispatcher):
    from gongzhi.registry import actions as registry

    bare = registry.create_area_node(
        actor=None, parent=mini.courtyard.parent, level=mini.courtyard.level, name="无坐标楼院"
    )
    login(client, dispatcher)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("bulkywaste:dispatch_urgent"), {"compound": bare.pk}).content.decode()
    assert "has no coordinates on record" in page and "尚未登记坐标" not in page
