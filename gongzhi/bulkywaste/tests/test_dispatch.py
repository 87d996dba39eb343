"""Dispatch: day plans (split loads, unassigned reasons, re-plan), the urgent path, crews, ledger, ratings,
illegal-dumping reports. The solver stops on an iteration count with a fixed seed (never a clock)."""

from __future__ import annotations

import io
import os
from datetime import date, time
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from PIL import Image

from gongzhi.bulkywaste import actions
from gongzhi.bulkywaste.actions import BookingError, RatingError
from gongzhi.bulkywaste.models import Booking, BookingItem, CostEntry, DayPlan, DumpingReport, Round, RoundStop
from gongzhi.core.models import AuditEntry
from gongzhi.core.sms import LocmemBackend
from testkit import bulkywaste as bw

TUE = date(2026, 11, 24)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "PNG")
    return out.getvalue()


def plan(area, day=TUE, **kw):
    p, _ = DayPlan.objects.get_or_create(area=area, day=day)
    return actions.plan_day(p.pk, iterations=kw.pop("iterations", 200), now=kw.pop("now", bw.NOW), **kw)


def test_a_day_is_planned_into_rounds_within_the_windows(area, mini, operator, django_capture_on_commit_callbacks):
    bw.vehicle(area, "1号车")
    bw.vehicle(area, "2号车")
    addresses = [actions.free_address(f"福华街{n}号", f"34.73{n}", f"113.64{n}", mini.community) for n in range(1, 7)]
    for n, addr in enumerate(addresses):
        actions.book(
            actor=operator,
            channel="hotline",
            items=[bw.item("wardrobe")],
            address=addr,
            preferred_days=[TUE],
            window="morning" if n % 2 else "afternoon",
            contact_name="刘",
            contact_phone=f"1391234567{n}",
            now=bw.NOW,
        )
    LocmemBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        p = plan(area)
    assert p.status == "done" and p.unassigned == [] and p.matrix == "straight_line" and p.version == 1
    stops = list(RoundStop.objects.select_related("booking").order_by("round", "order"))
    assert sorted(s.booking_id for s in stops) == sorted(Booking.objects.values_list("pk", flat=True))
    for s in stops:
        local = s.eta.astimezone(s.booking.window_start.tzinfo or None)
        assert s.booking.window_start <= local.time() <= s.booking.window_end
        assert s.booking.status == "planned" and s.booking.planned_eta is not None
    for r in Round.objects.all():
        assert [s.order for s in r.stops.all()] == list(range(1, r.stops.count() + 1))
        assert r.distance_m > 0 and r.volume_litres <= 12_000
    assert LocmemBackend.outbox == []  # planned before the cut-off (18:00 the day before): nobody is told yet
    assert AuditEntry.objects.filter(action="bulky.plan").count() == 1


def test_a_compound_load_larger_than_a_truck_is_split_over_three(mini, persona):
    area = bw.service_area(mini.subdistrict, daily_volume_litres=100_000)
    for n in range(3):
        bw.vehicle(area, f"{n + 1}号车", volume=16_000, weight=4_000)
    manager = persona("property_manager", mini.courtyard)
    b = actions.book(
        actor=manager,
        channel="property",
        items=[bw.item("wardrobe", 30)],
        address=actions.address_of_compound(mini.courtyard),
        preferred_days=[TUE],
        contact_name="物业王经理",
        contact_phone="13900000001",
        now=bw.NOW,
    )
    assert b.volume_litres == 43_200 and b.channel == "property" and b.compound == mini.courtyard
    p = plan(area)
    parts = list(RoundStop.objects.filter(booking=b).order_by("part"))
    assert [s.part for s in parts] == [1, 2, 3] and {s.parts for s in parts} == {3}
    assert sum(s.volume_litres for s in parts) == 43_200
    assert len({s.round_id for s in parts}) == 3 and p.unassigned == []


def test_what_does_not_fit_is_listed_with_the_reason(area, mini, operator):
    bw.vehicle(area, "小车", volume=3_000, shift_start=time(8, 0), shift_end=time(12, 30))
    morning = [
        bw.book_for(mini.units[i], actor=operator, items=[bw.item("wardrobe", 2)], preferred_days=[TUE])
        for i in range(2)
    ]
    evening = bw.book_for(
        mini.units[3],
        actor=operator,
        items=[bw.item("desk")],
        preferred_days=[TUE],
        window="custom",
        window_start=time(18, 0),
        window_end=time(20, 0),
    )
    p = plan(area)
    reasons = {u["reference"]: u["reason"] for u in p.unassigned}
    assert reasons[evening.reference] == "time_window"
    assert sorted(reasons.values()).count("no_vehicle") == 1  # one of the two morning loads: the truck is full
    assert Booking.objects.filter(pk__in=[b.pk for b in morning], status="planned").count() == 1
    assert Booking.objects.get(pk=evening.pk).status == "booked"
    assert "时间窗" in p.unassigned[-1]["reason_zh"] or "车辆" in p.unassigned[-1]["reason_zh"]


def test_cancel_and_amend_re_plan_a_planned_day(area, mini, operator, django_capture_on_commit_callbacks):
    bw.vehicle(area)
    a = bw.book_for(mini.units[0], actor=operator, preferred_days=[TUE])
    b = bw.book_for(mini.units[1], actor=operator, preferred_days=[TUE])
    plan(area)
    assert RoundStop.objects.count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        actions.cancel_booking(a, actor=operator, now=bw.NOW)
    p = DayPlan.objects.get()
    assert p.version == 2 and list(RoundStop.objects.values_list("booking_id", flat=True)) == [b.pk]


def test_the_dispatcher_re_plans_with_a_button(area, mini, operator, dispatcher, persona):
    with pytest.raises(PermissionDenied):
        actions.request_plan(area, TUE, actor=operator)
    with pytest.raises(PermissionDenied):
        actions.request_plan(area, TUE, actor=persona("dispatcher", mini.other_subdistrict))
    p = actions.request_plan(area, TUE, actor=dispatcher)
    assert p.status == "queued"


def test_the_urgent_path_goes_straight_into_todays_plan(mini, persona, dispatcher, django_capture_on_commit_callbacks):
    area = bw.service_area(mini.subdistrict, daily_stops=0)  # today is never bookable, and the days are full
    bw.vehicle(area, volume=16_000)
    with pytest.raises(PermissionDenied):
        actions.book_urgent(
            actor=persona("hotline_operator", mini.district),
            items=[bw.item("sofa" if False else "mattress")],
            address=actions.address_of_compound(mini.courtyard),
            reason="物业来电",
            contact_name="王",
            contact_phone="13900000001",
            now=bw.NOW,
        )
    with pytest.raises(BookingError) as e:
        actions.book_urgent(
            actor=dispatcher,
            items=[bw.item("mattress")],
            address=actions.address_of_compound(mini.courtyard),
            reason=" ",
            contact_name="王",
            contact_phone="13900000001",
            now=bw.NOW,
        )
    assert e.value.field == "reason"
    with django_capture_on_commit_callbacks() as callbacks:
        b = actions.book_urgent(
            actor=dispatcher,
            items=[bw.item("wardrobe", 5)],
            address=actions.address_of_compound(mini.courtyard),
            reason="物业来电：楼道堆放大件，消防隐患",
            contact_name="物业王经理",
            contact_phone="13900000001",
            now=bw.NOW,
        )
    assert b.day == date(2026, 11, 23) and b.urgent and not b.capacity_taken and b.window_start == time(10, 0)
    p = DayPlan.objects.get(area=area, day=b.day)
    assert p.status == "queued" and callbacks
    p = actions.plan_day(p.pk, iterations=200, now=bw.at(23, 10, 5))
    stop = RoundStop.objects.get(booking=b)
    assert stop.eta >= bw.at(23, 10, 5) and p.unassigned == []
    assert AuditEntry.objects.get(action="bulky.book_urgent").changes["reason"].startswith("物业来电")


@pytest.fixture
def planned_round(area, mini, operator, persona):
    crew = bw.crew_member("crew-a", mini.subdistrict)
    crew2 = bw.crew_member("crew-b", mini.subdistrict)
    bw.vehicle(area, crew=[crew, crew2])
    a = bw.book_for(mini.units[0], actor=operator, items=[bw.item("wardrobe"), bw.item("desk")], preferred_days=[TUE])
    b = bw.book_for(mini.units[1], actor=operator, items=[bw.item("mattress")], preferred_days=[TUE])
    plan(area)
    return Round.objects.get(), crew, a, b


def test_the_crew_opens_a_stop_and_that_view_is_logged(planned_round, persona, mini):
    rnd, crew, a, _b = planned_round
    stop = rnd.stops.get(booking=a)
    contact = actions.open_stop(stop, actor=crew)
    assert contact["phone"] == "13812345678"
    entry = AuditEntry.objects.get(action="pii.view")
    assert entry.actor == crew and entry.changes["fields"] == ["contact_name", "contact_phone"]
    other = bw.crew_member("crew-x", mini.subdistrict)  # crew, but not on this vehicle
    with pytest.raises(PermissionDenied):
        actions.open_stop(stop, actor=other)


def test_marking_items_finishes_the_booking_and_the_resident_is_asked_to_rate(
    planned_round, django_capture_on_commit_callbacks
):
    rnd, crew, a, _b = planned_round
    wardrobe, desk = a.items.all()
    LocmemBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        actions.mark_item(
            wardrobe,
            actor=crew,
            outcome="collected",
            weight_kg=Decimal("78.5"),
            photo=(png(), "w.png"),
            now=bw.at(24, 9, 40),
        )
        with pytest.raises(BookingError) as e:
            actions.mark_item(desk, actor=crew, outcome="collected", now=bw.at(24, 9, 41))
        assert e.value.field == "weight_kg"
        actions.mark_item(desk, actor=crew, outcome="refused", photo=(png(), "d.png"), now=bw.at(24, 9, 42))
    a.refresh_from_db()
    wardrobe.refresh_from_db()
    assert a.status == "partly" and a.on_time is True and a.rating_token
    assert wardrobe.outcome_photo.content_type == "image/png" and wardrobe.collected_weight_kg == Decimal("78.5")
    assert Round.objects.get().status == "started"
    [sms] = LocmemBackend.outbox
    assert "部分收运" in sms["text"] and f"/bulky/rate/{a.rating_token}/" in sms["text"]
    with pytest.raises(BookingError):
        actions.mark_item(desk, actor=crew, outcome="collected", weight_kg=Decimal(5))


def test_the_rating_link_is_absolute_with_the_site_address(planned_round, settings):
    """A phone opens only an absolute link: GONGZHI_SITE_URL makes it one."""
    *_rest, a, _b = planned_round
    a.rating_token = "tok"
    settings.GONGZHI_SITE_URL = "https://gongzhi.example.org"
    assert actions.rating_url(a) == "https://gongzhi.example.org/bulky/rate/tok/"
    settings.GONGZHI_SITE_URL = ""
    assert actions.rating_url(a) == "/bulky/rate/tok/"


def test_the_site_address_must_be_a_web_address():
    """A bare host name would make links no phone can open: the platform refuses to start with one."""
    import subprocess
    import sys

    from django.conf import settings

    code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'gongzhi.settings'; django.setup()"
    env = {**os.environ, "GONGZHI_SITE_URL": "gongzhi.example.org"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=settings.BASE_DIR)
    assert out.returncode != 0 and "GONGZHI_SITE_URL must start with https://" in out.stderr


def test_rating_once(planned_round):
    rnd, crew, a, _b = planned_round
    for item in a.items.all():
        actions.mark_item(item, actor=crew, outcome="collected", weight_kg=Decimal(10), now=bw.at(24, 13, 0))
    a.refresh_from_db()
    assert a.on_time is False  # collected in the afternoon for a morning window
    with pytest.raises(RatingError) as e:
        actions.rate_service(a.rating_token, score=6)
    assert e.value.field == "score"
    actions.rate_service(a.rating_token, score=5, comment="师傅很负责")
    with pytest.raises(RatingError) as e:
        actions.rate_service(a.rating_token, score=1)
    assert "已评价" in e.value.zh
    with pytest.raises(RatingError):
        actions.rate_service("not-a-token", score=3)


def test_the_ledger_when_a_round_completes(planned_round):
    """Hand-checked: 12.345 km × ¥3.50 = ¥43.21; 3 h × 2 crew × ¥40 = ¥240.00; (80 + 25) kg × ¥0.20 = ¥21.00."""
    rnd, crew, a, b = planned_round
    bw.rates(date(2026, 1, 1))
    Round.objects.filter(pk=rnd.pk).update(distance_m=12_345, start_at=bw.at(24, 8, 0), end_at=bw.at(24, 11, 0))
    wardrobe, desk = a.items.all()
    actions.mark_item(wardrobe, actor=crew, outcome="collected", weight_kg=Decimal(50), now=bw.at(24, 9))
    actions.mark_item(desk, actor=crew, outcome="collected", weight_kg=Decimal(30), now=bw.at(24, 9))
    assert Round.objects.get().status == "started"
    [mattress] = b.items.all()
    actions.mark_item(mattress, actor=crew, outcome="collected", weight_kg=Decimal(25), now=bw.at(24, 10))
    rnd.refresh_from_db()
    assert rnd.status == "completed"  # the last open stop finished the round
    rows = {(c.booking_id, c.kind): c.amount for c in CostEntry.objects.all()}
    km = sorted([rows[(a.pk, "vehicle_km")], rows[(b.pk, "vehicle_km")]])
    assert km == [Decimal("21.60"), Decimal("21.61")]
    assert rows[(a.pk, "crew_hours")] + rows[(b.pk, "crew_hours")] == Decimal("240.00")
    assert rows[(a.pk, "disposal")] == Decimal("16.00") and rows[(b.pk, "disposal")] == Decimal("5.00")
    assert sum(rows.values()) == Decimal("304.21")
    actions.complete_round(rnd, actor=crew)  # again: nothing is written twice
    assert CostEntry.objects.count() == 6


def test_dumping_reports_from_anyone_into_the_community_queue(area, mini, persona):
    r = actions.report_dumping(
        actor=None,
        description="楼下堆了旧沙发",
        node=mini.courtyard,
        latitude="34.7372",
        longitude="113.6401",
        photo=(png(), "sofa.png"),
        reporter_phone="13900000002",
    )
    assert r.reference.startswith("JB-") and r.status == "new" and r.area == area and r.photo is not None
    worker = persona("community_worker")
    stranger = persona("community_worker", mini.other_subdistrict)
    with pytest.raises(PermissionDenied):
        actions.assign_dumping(r, actor=stranger, assignee=stranger)
    actions.assign_dumping(r, actor=worker, assignee=worker)
    with pytest.raises(BookingError):
        actions.resolve_dumping(r, actor=worker, resolution="")
    actions.resolve_dumping(r, actor=worker, resolution="已联系收运车清走")
    assert DumpingReport.objects.get().status == "resolved"
    with pytest.raises(BookingError) as e:
        actions.report_dumping(actor=None, description="有垃圾", node=mini.courtyard)
    assert e.value.field == "address"


def test_items_marked_by_someone_not_on_the_round_are_refused(planned_round, operator):
    rnd, crew, a, _b = planned_round
    with pytest.raises(PermissionDenied):
        actions.mark_item(a.items.first(), actor=operator, outcome="collected", weight_kg=Decimal(1))
    assert BookingItem.objects.filter(outcome="pending").count() == 3


def test_osrm_when_configured_and_straight_line_when_it_fails(area, mini, operator, settings):
    bw.vehicle(area)
    bw.book_for(mini.units[0], actor=operator, preferred_days=[TUE])
    settings.GONGZHI_OSRM_URL = "http://127.0.0.1:9"  # nothing listens: connection refused, no outside network
    matrix, source = actions.travel_matrix()
    assert source == "osrm" and matrix.base_url == "http://127.0.0.1:9"
    p = plan(area)
    assert p.matrix == "straight_line (osrm failed)" and RoundStop.objects.count() == 1
    settings.GONGZHI_OSRM_URL = ""
    assert actions.travel_matrix()[1] == "straight_line"


def test_an_amended_day_leaves_the_old_plan_and_joins_the_new(area, mini, operator, django_capture_on_commit_callbacks):
    bw.vehicle(area)
    a = bw.book_for(mini.units[0], actor=operator, preferred_days=[TUE])
    plan(area)
    plan(area, day=date(2026, 11, 25))
    with django_capture_on_commit_callbacks(execute=True):
        actions.amend_booking(a, actor=operator, day=date(2026, 11, 25), now=bw.NOW)
    assert not RoundStop.objects.filter(round__day=TUE).exists()
    assert RoundStop.objects.get(round__day=date(2026, 11, 25)).booking == a
    assert Booking.objects.get(pk=a.pk).status == "planned"


@pytest.mark.parametrize("n", [4, 24])
def test_crew_and_round_pages_query_budgets(client, area, mini, operator, n, django_assert_max_num_queries):
    from django.urls import reverse
    from django.utils import timezone

    from testkit.world import PASSWORD

    crew = bw.crew_member("crew-q", mini.subdistrict)
    bw.vehicle(area, crew=[crew], volume=60_000, weight=9_000)
    today = timezone.localdate()
    for i in range(n):
        b = bw.book_for(mini.units[i % len(mini.units)], actor=operator, items=[bw.item("desk"), bw.item("mattress")])
        Booking.objects.filter(pk=b.pk).update(day=today)
    p, _ = DayPlan.objects.get_or_create(area=area, day=today)
    actions.plan_day(p.pk, iterations=50, now=bw.at(1, 0, 0, month=11))
    assert RoundStop.objects.count() == n
    client.login(username=crew.username, password=PASSWORD)
    rnd = Round.objects.get()
    for url, budget in ((reverse("bulkywaste:crew"), 12), (reverse("bulkywaste:round", args=[rnd.pk]), 12)):
        with django_assert_max_num_queries(budget, info=url):
            assert client.get(url).status_code == 200


def test_a_vehicle_that_finished_another_day_is_planned_again_and_again(planned_round, mini, operator):
    """Regression: excluding vehicles 'with a round under way' must look at this day's rounds only."""
    rnd, crew, a, b = planned_round
    for booking in (a, b):
        for item in booking.items.all():
            actions.mark_item(item, actor=crew, outcome="collected", weight_kg=Decimal(10), now=bw.at(24, 11))
    assert Round.objects.get().status == "completed"
    wed = date(2026, 11, 25)
    c = bw.book_for(mini.units[2], actor=operator, preferred_days=[wed])
    for _ in range(3):  # the second plan sees the first plan's (planned) round of the same vehicle
        p = plan(rnd.plan.area, day=wed)
        assert p.unassigned == [] and RoundStop.objects.get(round__day=wed).booking == c


def test_a_started_round_is_kept_when_the_day_is_re_planned(planned_round, mini, operator):
    rnd, crew, a, b = planned_round
    actions.start_round(rnd, actor=crew, now=bw.at(24, 8))
    extra = bw.book_for(mini.units[2], actor=operator, preferred_days=[TUE])
    p = plan(rnd.plan.area)
    assert Round.objects.filter(status="started").count() == 1
    assert {s.booking_id for s in Round.objects.get(status="started").stops.all()} == {a.pk, b.pk}
    assert [u["reference"] for u in p.unassigned] == [extra.reference]  # the only vehicle is out already
