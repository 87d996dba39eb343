"""Booking: what is bulky, capacity and the next free day, cut-off, amend and cancel, idempotency, fees."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from gongzhi.bulkywaste import actions, sizing
from gongzhi.bulkywaste.actions import BookingError, ItemSpec
from gongzhi.bulkywaste.models import Booking, CatalogueEntry, DayCapacity, FeeSchedule
from gongzhi.core.models import AuditEntry
from gongzhi.core.sms import LocmemBackend
from testkit import bulkywaste as bw

TUE, WED, THU, FRI, NEXT_MON = (date(2026, 11, d) for d in (24, 25, 26, 27, 30))


@pytest.mark.django_db
def test_the_catalogue_is_seeded_from_sizing():
    rows = {e.code: e for e in CatalogueEntry.objects.all()}
    assert set(rows) == {i.code for i in sizing.CATALOGUE}
    for i in sizing.CATALOGUE:
        e = rows[i.code]
        assert (e.name, e.category, e.typical_weight_kg, e.typical_volume_m3, e.typical_length_m) == (
            i.name_zh,
            i.category.code,
            i.typical_weight_kg,
            i.typical_volume_m3,
            i.typical_length_m,
        )
        assert e.decision().is_bulky == i.classify().is_bulky


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (lambda: bw.item("refrigerator"), ["冰箱", "废旧家电回收"]),
        (lambda: bw.item("small_stool"), ["小板凳", "可回收物"]),
        (
            lambda: ItemSpec(description="一袋剩饭", category="kitchen_waste", weight_kg=Decimal(12)),
            ["一袋剩饭", "厨余垃圾"],
        ),
        (lambda: ItemSpec(description="拆开的床板", category="bed", weight_kg=Decimal(30), integral=False), ["已拆解"]),
    ],
)
def test_what_is_not_bulky_cannot_be_booked_and_the_message_says_where_it_goes(area, mini, operator, spec, words):
    with pytest.raises(BookingError) as e:
        bw.book_for(mini.units[0], actor=operator, items=[bw.item("wardrobe"), spec()])
    assert e.value.field == "items[1]"
    for w in words:
        assert w in e.value.zh
    assert e.value.en
    assert not Booking.objects.exists() and not DayCapacity.objects.filter(stops_left__lt=10).exists()


def test_a_hotline_booking_records_who_booked_for_whom(area, mini, operator, django_capture_on_commit_callbacks):
    person = mini.units[0].residences.first().person
    with django_capture_on_commit_callbacks(execute=True):
        b = bw.book_for(
            mini.units[0], actor=operator, on_behalf_of=person, preferred_days=[WED], items=[bw.item("wardrobe", 2)]
        )
    assert re.fullmatch(r"DJ-20261123-\d{4}", b.reference)
    assert b.day == WED and b.channel == "hotline" and b.booked_by == operator and b.on_behalf_of == person
    assert b.volume_litres == 2880 and b.item_count == 2 and b.fee == 0
    assert "福华街12号" in b.address and "1号楼" in b.address and b.address.endswith(mini.units[0].number)
    entry = AuditEntry.objects.get(action="bulky.book", target_id=str(b.pk))
    assert entry.on_behalf_of == person and entry.channel == "hotline" and entry.changes["contact"] == "[personal]"
    assert "13812345678" not in str(entry.changes)
    cap = DayCapacity.objects.get(area=area, day=WED)
    assert (cap.stops_left, cap.volume_left) == (9, 20_000 - 2880)
    [sms] = LocmemBackend.outbox
    assert sms["to"] == "13812345678" and b.reference in sms["text"] and "11月25日" in sms["text"]


def test_references_count_up_within_the_day(area, mini, operator):
    a = bw.book_for(mini.units[0], actor=operator)
    b = bw.book_for(mini.units[1], actor=operator)
    assert int(b.reference[-4:]) == int(a.reference[-4:]) + 1


def test_a_full_day_offers_the_next_free_working_day(area, mini, operator):
    area.daily_stops = 2
    area.save()
    days = [bw.book_for(mini.units[i], actor=operator, preferred_days=[FRI]).day for i in range(5)]
    # Friday holds two; Saturday and Sunday are not collection days; Monday holds two, then Tuesday.
    assert days == [FRI, FRI, NEXT_MON, NEXT_MON, date(2026, 12, 1)]
    assert DayCapacity.objects.get(area=area, day=FRI).stops_left == 0


def test_volume_is_capacity_too(area, mini, operator):
    area.daily_volume_litres = 5000
    area.save()
    a = bw.book_for(mini.units[0], actor=operator, preferred_days=[TUE], items=[bw.item("wardrobe", 3)])  # 4320 l
    b = bw.book_for(mini.units[1], actor=operator, preferred_days=[TUE], items=[bw.item("desk", 2)])  # 1200 l
    assert (a.day, b.day) == (TUE, WED)
    with pytest.raises(BookingError) as e:
        bw.book_for(mini.units[2], actor=operator, items=[bw.item("wardrobe", 4)])  # 5760 l > a whole day
    assert e.value.field == "items"


def test_exact_day_refuses_and_names_the_earliest_free_day(area, mini, operator):
    area.daily_stops = 1
    area.save()
    bw.book_for(mini.units[0], actor=operator, preferred_days=[TUE])
    with pytest.raises(BookingError) as e:
        bw.book_for(mini.units[1], actor=operator, preferred_days=[TUE], exact_day=True)
    assert "2026-11-25" in e.value.zh and e.value.field == "preferred_days"


def test_the_cut_off_is_18_00_the_day_before(area, mini, operator):
    assert actions.serving_days(area, bw.at(23, 17, 59))[0] == TUE
    assert actions.serving_days(area, bw.at(23, 18, 0))[0] == WED
    with pytest.raises(BookingError):
        bw.book_for(mini.units[0], actor=operator, preferred_days=[TUE], now=bw.at(23, 18, 30))


def test_every_day_when_not_workdays_only(area):
    area.workdays_only = False
    area.save()
    assert date(2026, 11, 28) in actions.serving_days(area, bw.NOW)
    area.workdays_only = True
    area.save()
    assert date(2026, 11, 28) not in actions.serving_days(area, bw.NOW)


def test_cancel_gives_capacity_back_until_the_cut_off(area, mini, operator, dispatcher):
    b = bw.book_for(mini.units[0], actor=operator, preferred_days=[WED])
    with pytest.raises(BookingError) as e:
        actions.cancel_booking(b, actor=operator, now=bw.at(24, 18, 1))
    assert e.value.field == "day"
    actions.cancel_booking(b, actor=operator, now=bw.at(24, 17, 0))
    b.refresh_from_db()
    assert b.status == "cancelled"
    cap = DayCapacity.objects.get(area=area, day=WED)
    assert (cap.stops_left, cap.volume_left) == (10, 20_000)
    with pytest.raises(BookingError):
        actions.cancel_booking(b, actor=operator, now=bw.at(24, 17, 0))
    late = bw.book_for(mini.units[1], actor=operator, preferred_days=[WED])
    actions.cancel_booking(late, actor=dispatcher, now=bw.at(24, 20, 0))  # the dispatcher is not bound by it


def test_amend_moves_the_capacity_or_changes_nothing(area, mini, operator):
    area.daily_stops = 1
    area.save()
    b = bw.book_for(mini.units[0], actor=operator, preferred_days=[TUE])
    bw.book_for(mini.units[1], actor=operator, preferred_days=[THU])
    actions.amend_booking(b, actor=operator, day=WED, now=bw.NOW)
    assert DayCapacity.objects.get(day=TUE).stops_left == 1 and DayCapacity.objects.get(day=WED).stops_left == 0
    with pytest.raises(BookingError) as e:
        actions.amend_booking(b, actor=operator, day=THU, notes="在楼下", now=bw.NOW)
    assert "已约满" in e.value.zh and "2026-11-27" in e.value.zh
    b.refresh_from_db()
    assert b.day == WED and b.notes == ""
    with pytest.raises(BookingError) as e:
        actions.amend_booking(b, actor=operator, day=WED, now=bw.NOW)
    assert "没有修改" in e.value.zh
    actions.amend_booking(b, actor=operator, window="afternoon", items=[bw.item("desk")], now=bw.NOW)
    b.refresh_from_db()
    assert b.window_label == "13:00–17:00" and b.volume_litres == 600
    assert DayCapacity.objects.get(day=WED).volume_left == 20_000 - 600


def test_the_same_idempotency_key_returns_the_first_booking(area, mini, operator):
    a = bw.book_for(mini.units[0], actor=operator, idempotency_key="k1")
    b = bw.book_for(mini.units[0], actor=operator, idempotency_key="k1")
    assert a.pk == b.pk and Booking.objects.count() == 1
    assert DayCapacity.objects.get(day=a.day).stops_left == 9


def test_a_resident_books_their_own_home_only(area, mini, resident, django_capture_on_commit_callbacks):
    b = bw.book_for(mini.units[0], actor=resident, channel="web")
    assert b.booked_by == resident and b.on_behalf_of is None
    with pytest.raises(PermissionDenied):
        bw.book_for(mini.units[3], actor=resident, channel="web")
    with pytest.raises(PermissionDenied):
        bw.book_for(mini.units[0], actor=resident, channel="hotline")
    assert resident.has_perm("bulkywaste.change_booking", b)
    assert resident.has_perm("bulkywaste.view_booking", b)


def test_a_worker_of_another_area_cannot_book_or_change_here(area, mini, persona, operator):
    stranger = persona("community_worker", mini.other_subdistrict)
    with pytest.raises(PermissionDenied):
        bw.book_for(mini.units[0], actor=stranger)
    b = bw.book_for(mini.units[0], actor=operator)
    assert not stranger.has_perm("bulkywaste.view_booking", b)
    with pytest.raises(PermissionDenied):
        actions.cancel_booking(b, actor=stranger, now=bw.NOW)


def test_free_text_address_needs_coordinates(area, mini, operator):
    with pytest.raises(BookingError) as e:
        actions.free_address("福华街小巷5号", "abc", "113.6", mini.community)
    assert e.value.field == "latitude"
    with pytest.raises(BookingError):
        actions.free_address("福华街小巷5号", "95", "113.6", mini.community)
    addr = actions.free_address("福华街小巷5号", "34.7361", "113.6422", mini.community)
    b = actions.book(
        actor=operator,
        channel="hotline",
        items=[bw.item("mattress")],
        address=addr,
        contact_name="刘女士",
        contact_phone="0371-6898 9517",
        now=bw.NOW,
    )
    assert b.path == mini.community.path and b.latitude == Decimal("34.736100") and b.contact_phone == "0371-68989517"


def test_bad_contact_phone_names_the_field(area, mini, operator):
    with pytest.raises(BookingError) as e:
        bw.book_for(mini.units[0], actor=operator, contact_phone="12345")
    assert e.value.field == "contact_phone" and "手机号" in e.value.zh


def test_fee_schedules(area, mini, operator):
    assert bw.book_for(mini.units[0], actor=operator).fee == 0
    FeeSchedule.objects.create(mode="per_item", default_item_price=Decimal("10"), effective_from=date(2026, 11, 1))
    CatalogueEntry.objects.filter(code="wardrobe").update(price=Decimal("30"))
    items = [bw.item("wardrobe", 2), ItemSpec(description="旧门板", category="board", length_m=Decimal("2.1"))]
    b = bw.book_for(mini.units[1], actor=operator, items=items)
    assert b.fee == Decimal("70.00") and b.fee_mode == "per_item"
    FeeSchedule.objects.create(mode="flat", flat_amount=Decimal("25"), effective_from=date(2026, 11, 20))
    assert bw.book_for(mini.units[2], actor=operator).fee == Decimal("25")


def test_reminders_go_once(area, mini, operator, django_capture_on_commit_callbacks):
    b = bw.book_for(mini.units[0], actor=operator, preferred_days=[TUE])
    bw.book_for(mini.units[1], actor=operator, preferred_days=[WED])
    LocmemBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.send_reminders(today=date(2026, 11, 23)) == 1
        assert actions.send_reminders(today=date(2026, 11, 23)) == 0
    [sms] = LocmemBackend.outbox
    assert b.reference in sms["text"] and "明天" in sms["text"]


def test_the_reminder_command(area, mini, operator):
    from django.core.management import call_command

    bw.book_for(mini.units[0], actor=operator, preferred_days=[TUE])
    call_command("send_bulky_reminders", today=date(2026, 11, 23))
    assert Booking.objects.get().reminder_sent_at is not None


def test_capacity_never_goes_below_zero_in_the_database(area):
    from django.db import IntegrityError, transaction

    DayCapacity.objects.create(area=area, day=TUE, stops_left=0, volume_left=10)
    with pytest.raises(IntegrityError), transaction.atomic():
        DayCapacity.objects.filter(day=TUE).update(stops_left=-1)


def test_new_daily_limits_apply_to_days_already_booked(area, mini, operator):
    """The street office adds a truck (15 stops a day, was 10), later cuts to 1: days opened by bookings under the
    old limits take the new ones, counted from their bookings; a day booked beyond a cut keeps its bookings."""
    a = bw.book_for(mini.units[0], actor=operator, preferred_days=[WED], items=[bw.item("wardrobe", 2)])
    bw.book_for(mini.units[1], actor=operator, preferred_days=[WED])
    bw.book_for(mini.units[2], actor=operator, preferred_days=[THU])
    actions.cancel_booking(a, actor=operator, now=bw.NOW)  # gave its stop back: not counted again
    before = {c.day: (c.stops_left, c.volume_left) for c in DayCapacity.objects.filter(area=area)}
    assert before[WED][0] == 9 and before[THU][0] == 9

    area.daily_stops, area.daily_volume_litres = 15, 30_000
    actions.save_config(area, actor=None, today=TUE)

    after = {c.day: (c.stops_left, c.volume_left) for c in DayCapacity.objects.filter(area=area)}
    assert after[WED] == (14, before[WED][1] + 10_000) and after[THU] == (14, before[THU][1] + 10_000)
    entry = AuditEntry.objects.filter(action="bulky.change_servicearea").latest("pk")
    assert entry.changes["daily_stops"] == [10, 15] and entry.changes["days_recounted"] == len(after)

    area.daily_stops = 1
    actions.save_config(area, actor=None, today=THU)  # Wednesday is past: left as it was

    assert DayCapacity.objects.get(area=area, day=THU).stops_left == 0  # its one booking stays, no more fit
    assert DayCapacity.objects.get(area=area, day=WED).stops_left == 14
    assert Booking.objects.filter(day=THU, status="booked").count() == 1
    with pytest.raises(BookingError):
        bw.book_for(mini.units[3], actor=operator, preferred_days=[THU], exact_day=True)
