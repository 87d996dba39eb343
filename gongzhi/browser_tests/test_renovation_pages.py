"""Renovation at a real browser: a resident on a phone reads their bill and orders; the contractor answers a
defect through its link with no account; acceptance is refused while a defect is open."""

from __future__ import annotations

import pytest

from gongzhi.browser_tests.conftest import PHONE, sign_in
from gongzhi.renovation import actions
from gongzhi.renovation.demo import floor_plan_png
from gongzhi.renovation.models import Defect, Order, Project
from gongzhi.renovation.tests.builders import build_scene, soon, to_works
from testkit.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def scene(mini):
    return build_scene(mini)


def submit(page) -> None:
    page.locator("main form").locator("button[type=submit]").first.click()
    page.wait_for_load_state()


def test_a_resident_sees_the_bill_and_orders_on_a_phone(new_page, scene, shots):
    p, unit = scene.project, scene.mini.units[1]
    page = new_page(PHONE)
    sign_in(page, "resident", PASSWORD)
    page.goto(f"/renovation/p/{p.pk}/")
    body = page.locator("main").inner_text()
    assert "供排水管网改造" in body and "¥160.00" in body and "¥300.00" in body
    page.screenshot(path=str(shots / "renovation-resident-menu.png"), full_page=True)
    page.goto(f"/renovation/p/{p.pk}/order/{unit.pk}/{scene.pipes.pk}/")
    assert "¥160.00" in page.locator("main").inner_text()
    submit(page)  # nothing chosen: the error summary links to the question
    assert page.locator(".error-summary a").count() >= 1
    page.check("input[name=answer][value=yes]")
    page.check("input[name=willing_to_pay]")
    submit(page)
    assert page.url.endswith("/check/")
    assert "¥160.00" in page.locator("main").inner_text()
    submit(page)
    assert "已收到您的意见" in page.locator("main").inner_text()
    order = Order.objects.get()
    assert order.agrees and order.channel == "online" and str(order.seen_share) == "160.00"
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('main p')).fontSize)")
    assert size >= 16


def test_the_contractor_answers_a_defect_by_its_link_without_an_account(new_page, scene, shots):
    p = to_works(scene)
    defect = actions.report_defect(
        p, actor=scene.inspector, source="inspector", description="落水管松动", deadline=soon()
    )
    page = new_page(PHONE)
    page.goto(f"/renovation/d/{defect.token}/")
    assert "落水管松动" in page.locator("main").inner_text()
    submit(page)
    assert page.locator(".error-summary").count() == 1
    page.fill("#id_name", "王工")
    page.fill("#id_note", "已重新固定并试水")
    submit(page)
    assert "等待监督方核验销项" in page.locator("main").inner_text()
    page.screenshot(path=str(shots / "renovation-defect-answer.png"), full_page=True)
    defect.refresh_from_db()
    assert defect.status == Defect.Status.RESOLVED and defect.resolved_by_label == "王工"


def test_acceptance_is_refused_while_a_defect_is_open(new_page, scene, shots):
    p = to_works(scene)
    actions.report_defect(p, actor=scene.inspector, source="inspector", description="护栏松动", deadline=soon())
    page = new_page()
    sign_in(page, "worker", PASSWORD)
    page.goto(f"/renovation/p/{p.pk}/supervision/")
    assert "尚有1个问题未销项" in page.locator("main").inner_text()
    page.get_by_role("button", name="通过竣工验收并公开结果").click()
    page.wait_for_load_state()
    assert "未销项" in page.locator(".error-summary").inner_text()
    page.screenshot(path=str(shots / "renovation-acceptance-refused.png"), full_page=True)
    assert Project.objects.get(pk=p.pk).stage == "works"


def _plan(scene):
    p = to_works(scene)
    plan = actions.upload_plan(
        p, actor=scene.officer, title="1号楼三层平面图", image=(floor_plan_png(800, 500), "plan.png")
    )
    return p, plan


def _start_report(page, p) -> None:
    sign_in(page, "resident", PASSWORD)
    page.goto(f"/renovation/p/{p.pk}/defects/new/")
    page.fill("#id_description", "楼梯扶手松动")
    page.fill("#id_deadline", soon().isoformat())


def test_a_resident_places_a_defect_by_tapping_the_plan_on_a_phone(new_page, scene, shots):
    """With plan.js the plan fits the phone; a tap fills the position and draws the marker, nothing is sent."""
    p, plan = _plan(scene)
    page = new_page(PHONE)
    _start_report(page, p)
    picture = page.locator(f"input[name='spot-{plan.pk}']")
    box = picture.bounding_box()
    assert box["width"] <= PHONE["width"]
    picture.click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.5})
    assert page.url.endswith("/defects/new/") and not Defect.objects.exists()
    assert page.locator(".plan-mark").count() == 1
    assert abs(float(page.input_value("#id_plan_x")) - 25) < 1 and abs(float(page.input_value("#id_plan_y")) - 50) < 1
    assert "位置：横向" in page.locator(".plan-status").inner_text()
    page.screenshot(path=str(shots / "renovation-defect-on-plan.png"), full_page=True)
    with page.expect_navigation():
        page.locator("main form button.button[type=submit]").click()
    page.wait_for_load_state()
    defect = Defect.objects.get()
    assert defect.plan == plan and abs(defect.plan_x - 25) < 1 and abs(defect.plan_y - 50) < 1


def test_without_javascript_a_click_on_the_plan_is_read_in_the_plans_own_pixels(new_page, scene):
    """plan.js refused: the plan is drawn at its own size in a scrolling box; the click's pixels are the plan's,
    the server turns them into percents and draws the marker; the report keeps what was typed."""
    p, plan = _plan(scene)
    page = new_page(PHONE)
    page.route("**/plan.js", lambda route: route.abort())
    _start_report(page, p)
    picture = page.locator(f"input[name='spot-{plan.pk}']")
    assert picture.bounding_box()["width"] == 800  # its own pixels, inside .plan-scroll
    with page.expect_navigation():
        picture.click(position={"x": 200, "y": 125})
    assert (page.input_value("#id_plan_x"), page.input_value("#id_plan_y")) == ("25.00", "25.00")
    assert page.input_value("#id_description") == "楼梯扶手松动" and page.locator(".plan-mark").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    with page.expect_navigation():
        page.locator("main form button.button[type=submit]").click()
    page.wait_for_load_state()
    defect = Defect.objects.get()
    assert (defect.plan, str(defect.plan_x), str(defect.plan_y)) == (plan, "25.00", "25.00")
