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
def browser():
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
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(autouse=True)
def _seeded_data(transactional_db):
    """Put back the data the migrations seed (area levels, organisation kinds, …) after an earlier
    transactional test's flush removed it. (serialized_rollback would do this, but with Playwright's event
    loop in the thread Django's restore does not run; re-seeding is simple and explicit.)"""
    import importlib
    import pkgutil

    from django.apps import apps

    from gongzhi.registry.models import AreaLevel

    if AreaLevel.objects.exists():
        return
    for config in apps.get_app_configs():
        if not config.name.startswith("gongzhi."):
            continue
        try:
            package = importlib.import_module(f"{config.name}.migrations")
        except ModuleNotFoundError:
            continue
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            module = importlib.import_module(f"{config.name}.migrations.{info.name}")
            if callable(getattr(module, "seed", None)):
                module.seed(apps, None)


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
