"""The crew's day on a phone: today's stops drawn as a map and listed in order; record a stop's items, then
"next stop" leads on; "back to the route" keeps the day."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from gongzhi.browser_tests.conftest import PHONE, sign_in
from gongzhi.bulkywaste import actions
from gongzhi.bulkywaste.models import Booking, DayPlan, Round, RoundStop
from testkit import bulkywaste as bw
from testkit.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_crew_records_a_stop_and_goes_on_to_the_next_on_a_phone(new_page, mini, persona, shots):
    area = bw.service_area(mini.subdistrict)
    operator = persona("hotline_operator", mini.district)
    crew = bw.crew_member("crew-phone", mini.subdistrict)
    bw.vehicle(area, crew=[crew])
    tue = date(2026, 11, 24)
    for n in range(2):
        bw.book_for(mini.units[n], actor=operator, preferred_days=[tue], contact_phone=f"1381234567{n}")
    plan, _ = DayPlan.objects.get_or_create(area=area, day=tue)
    actions.plan_day(plan.pk, iterations=50, now=bw.NOW)
    today = timezone.localdate()
    Round.objects.update(day=today)  # the planned round is worked today
    first, second = RoundStop.objects.select_related("booking").order_by("order")

    page = new_page(PHONE)
    sign_in(page, crew.username, PASSWORD)
    page.goto(f"/bulky/crew/?day={today.isoformat()}")
    assert page.locator("h1").inner_text() == "今日收运"
    assert page.locator("svg.map-svg circle").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "bulky-crew-phone.png"), full_page=True)

    page.locator(f'a[href="/bulky/crew/stops/{first.pk}/"]').click()
    page.wait_for_load_state()
    for item in first.booking.items.all():
        form = page.locator(f'form:has(input[name=item][value="{item.pk}"])')
        form.locator(f'input[name="i{item.pk}-outcome"][value=collected]').check()
        form.locator(f'input[name="i{item.pk}-weight_kg"]').fill("35")
        form.get_by_role("button", name="记录").click()
        page.wait_for_load_state()
    assert Booking.objects.get(pk=first.booking_id).status == "collected"
    next_stop = page.get_by_role("link", name=f"下一站：{second.order}. {second.booking.address}")
    assert next_stop.is_visible()
    next_stop.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/bulky/crew/stops/{second.pk}/")
    page.get_by_role("link", name="返回路线").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/bulky/crew/?day={today.isoformat()}")
