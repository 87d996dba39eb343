"""A registry officer at a real browser: from a unit to one of its residents, a copy of the person's data, and
their erasure with a reason and a confirmation — in Chinese and in English, on a desktop and a phone."""

from __future__ import annotations

import base64
import json

import pytest

from gongzhi.browser_tests.conftest import DESKTOP, PHONE, sign_in, totp_now
from gongzhi.core.models import AuditEntry
from gongzhi.registry.models import Person
from testkit.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def signed_in_officer(new_page, persona, viewport):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    officer = persona("registry_officer", username="officer")
    key = bytes(range(20))
    TOTPDevice.objects.create(user=officer, name="app", key=key.hex(), confirmed=True)
    page = new_page(viewport)
    sign_in(page, "officer", PASSWORD)
    page.fill("#id_token", totp_now(base64.b32encode(key).decode()))
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()
    return page


def test_an_officer_exports_and_erases_a_residents_data(new_page, persona, mini, shots):
    person = Person.objects.get(name="王小明")
    page = signed_in_officer(new_page, persona, DESKTOP)
    page.goto(f"/registry/unit/{mini.units[0].pk}/")
    page.locator("table a", has_text="王*").first.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/registry/person/{person.pk}/")
    body = page.locator("main").inner_text()
    assert "王**" in body or "王*" in body
    assert "13812345678" not in body  # masked on the page
    page.screenshot(path=str(shots / "person-zh-desktop.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("button", name="导出此人的全部信息（JSON）").click()
    data = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert data["sections"]["registry.person"][0]["name"] == "王小明"

    page.get_by_role("link", name="删除此人的个人信息").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="确认删除").click()
    page.wait_for_load_state()
    summary = page.locator(".error-summary").inner_text()
    assert "请填写删除理由" in summary and "请勾选确认" in summary
    page.screenshot(path=str(shots / "person-erase-errors-zh-desktop.png"), full_page=True)
    page.fill("#id_reason", "本人书面申请（申请单 2026-017）")
    page.check("#id_confirm")
    page.get_by_role("button", name="确认删除").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/registry/person/{person.pk}/")
    assert "已删除的个人信息" in page.locator("h1").inner_text()
    assert page.get_by_role("link", name="删除此人的个人信息").count() == 0
    page.screenshot(path=str(shots / "person-erased-zh-desktop.png"), full_page=True)
    assert AuditEntry.objects.filter(action="registry.erase_person", target_id=str(person.pk)).count() == 1

    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert "Erased personal data" in page.locator("h1").inner_text()
    page.screenshot(path=str(shots / "person-erased-en-desktop.png"), full_page=True)


def test_the_erase_page_in_english_on_a_phone(new_page, persona, mini, shots):
    person = Person.objects.get(name="李秀英")
    page = signed_in_officer(new_page, persona, PHONE)
    page.goto(f"/registry/person/{person.pk}/")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert "Export this person's data (JSON)" in page.locator("main").inner_text()
    page.get_by_role("link", name="Erase this person's data").click()
    page.wait_for_load_state()
    main = page.locator("main").inner_text()
    assert "Erasing cannot be undone" in main and "Reason for erasing" in main
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "person-erase-en-phone.png"), full_page=True)
