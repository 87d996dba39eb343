"""A person at a real browser: sign in, browse from the district down to 油漆厂家属院, switch the language,
and see phone numbers masked — or, after the second factor, revealed (and logged)."""

from __future__ import annotations

import pytest

from gongzhi.browser_tests.conftest import DESKTOP, PHONE, sign_in, totp_now
from gongzhi.core import actions
from gongzhi.core.models import AuditEntry
from testkit.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

FULL = "13812345678"
MASKED = "138****5678"


def html_lang(page) -> str:
    return page.locator("html").get_attribute("lang")


def click_row_link(page, name: str) -> None:
    page.locator("table a", has_text=name).first.click()
    page.wait_for_load_state()


def test_sign_in_with_user_name_and_password(page, persona):
    persona("community_worker", username="worker")
    sign_in(page, "worker", "wrong-password")
    assert "用户名或密码不正确" in page.locator(".error-summary").inner_text()
    sign_in(page, "worker", PASSWORD)
    assert page.url.rstrip("/").endswith(page.url.split("/", 3)[2])  # the home page
    assert "您好" in page.locator("h1").inner_text()
    assert page.get_by_role("button", name="退出").is_visible()


def test_browse_from_the_district_to_the_compound_and_switch_to_english(new_page, persona, mini, shots):
    persona("subdistrict_staff", node=mini.district, username="staff")
    page = new_page(DESKTOP)
    sign_in(page, "staff", PASSWORD)
    page.goto("/registry/")
    assert html_lang(page) == "zh-CN"
    assert "区域与房屋" in page.locator("h1").inner_text()

    for name in ("福华街街道", "铁道家园社区", "油漆厂家属院", "油漆厂家属院"):
        click_row_link(page, name)
    assert page.url.endswith(f"/registry/node/{mini.courtyard.pk}/")
    assert "油漆厂家属院" in page.locator("h1").inner_text()
    body = page.locator("main").inner_text()
    for text in ("基本情况", "建成年份", "1986", "无主管", "三类组织"):
        assert text in body
    crumbs = page.locator("nav .breadcrumbs").inner_text()
    assert "二七区" in crumbs and "铁道家园社区" in crumbs
    page.screenshot(path=str(shots / "compound-zh-desktop.png"), full_page=True)

    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/registry/node/{mini.courtyard.pk}/")  # back on the same page
    assert html_lang(page) == "en"
    body = page.locator("main").inner_text()
    for text in ("Basic facts", "Year built", "Unmanaged", "Three kinds of organisation"):
        assert text in body
    assert "基本情况" not in body
    assert page.get_by_role("button", name="简体中文").is_visible()  # and back again
    page.screenshot(path=str(shots / "compound-en-desktop.png"), full_page=True)

    phone = new_page(PHONE)
    sign_in(phone, "staff", PASSWORD)
    phone.goto(f"/registry/node/{mini.courtyard.pk}/")
    # No sideways scrolling of the whole page on a phone; wide tables scroll inside their own box.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=str(shots / "compound-zh-phone.png"), full_page=True)


def test_a_community_worker_sees_phones_masked(new_page, persona, mini, shots):
    persona("community_worker", username="worker")
    page = new_page(PHONE)
    sign_in(page, "worker", PASSWORD)
    page.goto(f"/registry/unit/{mini.units[0].pk}/")
    assert page.locator("td.pii", has_text=MASKED).count() >= 1
    assert FULL not in page.content()
    assert page.get_by_role("button", name="显示完整信息").count() == 0  # no reveal for this role
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "unit-masked-phone.png"), full_page=True)


def test_a_registry_officer_passes_the_second_factor_and_reveals_a_phone(new_page, persona, mini, shots):
    officer = persona("registry_officer", username="officer")
    issued = actions.issue_enrolment_code(officer, actor=persona("district_admin", mini.district, username="admin"))
    page = new_page(DESKTOP)
    sign_in(page, "officer", PASSWORD)

    assert "/accounts/otp/" in page.url  # sent to the second factor before anything else
    assert "二次验证" in page.locator("h1").inner_text()
    assert "请向管理员领取8位绑定码" in page.locator("main").inner_text()
    assert page.locator("code.secret").count() == 0  # the password alone shows no secret
    page.screenshot(path=str(shots / "otp-code-desktop.png"), full_page=True)
    page.fill("#id_enrolment_code", "0000 0000" if issued.code != "00000000" else "1111 1111")
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()
    assert "绑定码不正确" in page.locator(".error-summary").inner_text()
    page.fill("#id_enrolment_code", issued.display)  # as the administrator read it out
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()

    page.screenshot(path=str(shots / "otp-enrol-desktop.png"), full_page=True)
    secret = page.locator("code.secret").inner_text().strip()
    page.fill("#id_token", totp_now(secret))
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/otp/" not in page.url

    page.goto(f"/registry/unit/{mini.units[0].pk}/")
    assert FULL not in page.content()  # masked until asked
    assert page.locator("td.pii", has_text=MASKED).count() >= 1
    page.get_by_role("button", name="显示完整信息").click()
    page.wait_for_load_state()
    assert page.locator("td.pii", has_text=FULL).count() >= 1
    assert "已记入审计日志" in page.locator("main").inner_text()
    assert AuditEntry.objects.filter(action="pii.view", actor__username="officer").count() == 3
    page.screenshot(path=str(shots / "unit-revealed-desktop.png"), full_page=True)


def test_the_sign_in_and_second_factor_pages_fit_a_phone(new_page, persona, mini, shots):
    officer = persona("registry_officer", username="officer")
    issued = actions.issue_enrolment_code(officer, actor=persona("district_admin", mini.district, username="admin"))
    page = new_page(PHONE)
    sign_in(page, "officer", "wrong-password")
    assert page.locator(".error-summary").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "login-error-phone.png"), full_page=True)
    sign_in(page, "officer", PASSWORD)
    assert "/accounts/otp/" in page.url
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "otp-code-phone.png"), full_page=True)
    page.fill("#id_enrolment_code", issued.code)
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("code.secret").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # the long otpauth:// URI wraps
    page.screenshot(path=str(shots / "otp-enrol-phone.png"), full_page=True)


def test_a_district_admin_issues_an_enrolment_code_on_a_phone(new_page, persona, mini, shots):
    import base64

    from django_otp.plugins.otp_totp.models import TOTPDevice

    admin = persona("district_admin", mini.district, username="admin")
    key = bytes(range(20))
    TOTPDevice.objects.create(user=admin, name="app", key=key.hex(), confirmed=True)  # the admin is enrolled
    persona("registry_officer", username="officer")
    page = new_page(PHONE)
    sign_in(page, "admin", PASSWORD)
    page.fill("#id_token", totp_now(base64.b32encode(key).decode()))
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()
    page.goto("/")
    page.get_by_role("link", name="二次验证绑定码").click()
    page.wait_for_load_state()
    assert "officer" in page.locator("table").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "second-factor-users-phone.png"), full_page=True)
    page.get_by_role("button", name="签发绑定码").click()
    page.wait_for_load_state()
    shown = page.locator(".enrolment-code").inner_text()
    assert len(shown.replace(" ", "")) == 8 and "只显示这一次" in page.locator("main").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "enrolment-code-issued-phone.png"), full_page=True)
