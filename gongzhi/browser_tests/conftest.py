"""Browser tests: Playwright (Python) driving Debian's Chromium against pytest-django's live server.

No browser is downloaded: Playwright launches /usr/bin/chromium (override with GONGZHI_CHROMIUM). Without it
the tests are skipped on a developer's machine but FAIL in CI (CI=true or GONGZHI_CI=1), so CI never passes
by skipping them. Screenshots go to GONGZHI_SCREENSHOTS (default: var/screenshots in the repository).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop in the main thread; Django refuses ORM calls from a thread with a
# running loop unless told this is safe. The live server runs in its own thread, the test in this one.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("GONGZHI_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"} or os.environ.get("GONGZHI_CI") == "1"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def browser(django_db_setup):
    if not os.access(CHROMIUM, os.X_OK):
        message = f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)"
        if IN_CI:
            pytest.fail(message + " — browser tests may not be skipped in CI", pytrace=False)
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - requirements-test.txt pins playwright
        if IN_CI:
            pytest.fail(f"playwright is not installed: {exc}", pytrace=False)
        pytest.skip(f"playwright is not installed: {exc}")
    from django.db import connections

    # Inside Playwright's event loop Django hands out new connection objects (asgiref's Local is per context).
    # Give them the snapshot taken when the test database was made, so serialized_rollback restores the
    # seeded data before each browser test and the flush after it does not re-create content types.
    snapshots = {alias: getattr(connections[alias], "_test_serialized_contents", None) for alias in connections}
    with sync_playwright() as pw:
        for alias, snapshot in snapshots.items():
            if snapshot is not None:
                connections[alias]._test_serialized_contents = snapshot
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def new_page(browser, live_server):
    """new_page(viewport=PHONE) → a page in a fresh browser context (own cookies), base URL the live server."""
    contexts = []

    def make(viewport=DESKTOP, locale="zh-CN"):
        context = browser.new_context(viewport=viewport, locale=locale, base_url=live_server.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    # A request a page started (a lazy image after the last navigation, say) may still be running in the live
    # server: let it end before the test's database is flushed under it (SQLite's shared cache answers the flush
    # "table is locked", and the next test then finds this one's rows).
    httpd = getattr(live_server.thread, "httpd", None)
    for thread in list(getattr(httpd, "_threads", None) or ()):
        thread.join(timeout=15)


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture(scope="session")
def shots() -> Path:
    default = Path(__file__).resolve().parents[2] / "var" / "screenshots"
    path = Path(os.environ.get("GONGZHI_SCREENSHOTS", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def sign_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()


def totp_now(secret_b32: str) -> str:
    """The code an authenticator app shows for the key printed on the enrolment page."""
    from django_otp.oath import totp

    return f"{totp(base64.b32decode(secret_b32)):06d}"
