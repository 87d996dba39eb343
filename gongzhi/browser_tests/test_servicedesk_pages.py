"""The service desk at a real browser: a resident reports with a photo on a phone, an operator takes a call, a
party member takes an order near them."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from gongzhi.browser_tests.conftest import PHONE, sign_in
from gongzhi.registry.models import Person
from gongzhi.servicedesk import actions
from gongzhi.servicedesk import testing as sd
from gongzhi.servicedesk.models import ServiceRequest
from testkit.world import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def cats(mini):
    return sd.catalogue(mini.district)


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(buf, "JPEG")
    return buf.getvalue()


def go_on(page, name: str = "继续") -> None:
    page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_load_state()


def test_a_resident_reports_a_stair_light_with_a_photo_on_a_phone(new_page, mini, cats, shots):
    person = Person.objects.get(name="张建国")
    make_user("zhang", "resident", mini.courtyard, person=person, phone=person.phone)
    page = new_page(PHONE)
    sign_in(page, "zhang", PASSWORD)
    page.goto("/service/report/")
    go_on(page)
    assert page.locator(".error-summary").is_visible()  # nothing chosen: the summary links to the field
    page.get_by_label("楼道灯不亮").check()
    go_on(page)
    assert "问题在哪个楼院" in page.locator("h1").inner_text()
    page.get_by_label("油漆厂家属院", exact=False).first.check()
    page.fill("#id_where", "1号楼1单元")
    go_on(page)
    assert "哪一层" in page.locator("h1").inner_text()
    page.fill("#id_answer", "3")
    go_on(page)
    page.fill("#id_description", "楼道灯不亮两天了，晚上看不见台阶")
    go_on(page)
    page.set_input_files("#id_photo", files=[{"name": "light.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}])
    page.screenshot(path=str(shots / "servicedesk-report-photo-phone.png"), full_page=True)
    go_on(page)
    body = page.locator("main").inner_text()
    assert "楼道灯不亮两天了" in body and "3工作日" in body
    page.screenshot(path=str(shots / "servicedesk-report-check-phone.png"), full_page=True)
    go_on(page, "提交")
    assert "已受理" in page.locator("h1").inner_text()
    req = ServiceRequest.objects.get()
    assert req.photos.count() == 1 and req.requester_user.username == "zhang" and req.channel == "web"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing overflows the phone's width


def test_an_operator_takes_a_call(new_page, mini, persona, cats, shots):
    persona("hotline_operator", mini.district, "operator")
    page = new_page()
    sign_in(page, "operator", PASSWORD)
    page.goto("/service/hotline/")
    page.fill("#cq", "油漆厂")
    page.get_by_role("button", name="查找（F）").click()
    page.wait_for_load_state()
    page.fill("#id_requester_phone", "138 1234 5678")
    page.fill("#id_requester_name", "李阿姨")
    page.select_option("#id_node", label="油漆厂家属院")
    page.select_option("#id_category", label="下水道堵塞（24小时）")
    page.check("input[name='attribute[overflow]'][value=yes]")
    page.fill("#id_description", "3号楼门口下水道反水")
    page.get_by_role("button", name="受理", exact=True).click()
    page.wait_for_load_state()
    assert "已受理" in page.locator(".messages").inner_text()
    page.screenshot(path=str(shots / "servicedesk-hotline-desktop.png"), full_page=True)
    req = ServiceRequest.objects.get()
    assert req.channel == "hotline" and req.requester_phone == "13812345678" and req.answers == {"overflow": "yes"}


def test_a_party_member_takes_an_order_near_them(new_page, mini, persona, cats, shots):
    worker = persona("community_worker", mini.community, "worker")
    persona("party_liaison", mini.courtyard, "liaison")
    resident = make_user("zhang", "resident", mini.courtyard, person=Person.objects.get(name="张建国"))
    req = actions.submit_request(
        actor=resident, category=cats["elderly_help"], description="独居老人想请人帮忙买菜", channel="web",
        node=mini.courtyard,
    )  # fmt: skip
    actions.dispatch_request(req, actor=worker)
    page = new_page(PHONE)
    sign_in(page, "liaison", PASSWORD)
    page.goto("/service/near/")
    assert "老人帮扶" in page.locator("main").inner_text()
    page.screenshot(path=str(shots / "servicedesk-near-phone.png"), full_page=True)
    page.get_by_role("button", name=f"我来接单 {req.reference}").click()
    page.wait_for_load_state()
    assert "附近暂时没有待接的工单" in page.locator("main").inner_text()
    req.refresh_from_db()
    assert req.status == "taken" and req.taker.username == "liaison" and req.taker_kind == "party_member"
