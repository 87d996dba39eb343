"""The crawl's checks catch what they claim: small text (SVG text scaled by its viewBox too), sideways overflow,
an axe-core violation, errors without a summary — on pages made for the purpose, in seconds (no demo)."""

from __future__ import annotations

import pytest

from gongzhi.browser_tests.conftest import PHONE
from gongzhi.browser_tests.test_crawl import AXE, AXE_RUN, ERROR_SUMMARY, MIN_TEXT_PX, TEXT_SIZES

pytestmark = pytest.mark.browser

GOOD = """<!DOCTYPE html><html lang="zh-CN"><head><title>好</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1 style="font-size:32px">标题</h1><p style="font-size:18px">正文</p>
<svg viewBox="0 0 200 100" style="width:100%"><text x="0" y="40" font-size="20">图表标签</text></svg></main></body></html>"""


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE)
    yield context.new_page()
    context.close()


def test_a_good_page_passes_every_check(phone):
    phone.set_content(GOOD)
    phone.add_script_tag(path=str(AXE))
    assert phone.evaluate(TEXT_SIZES, MIN_TEXT_PX) == []
    assert phone.evaluate(AXE_RUN) == []
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert phone.evaluate(ERROR_SUMMARY) is None


def test_each_check_catches_its_problem(phone):
    phone.set_content(
        GOOD.replace("<p style=\"font-size:18px\">正文</p>", '<p style="font-size:15px">小字</p>')
        .replace('viewBox="0 0 200 100"', 'viewBox="0 0 1200 600"')  # 20px labels drawn at a sixth of their size
        .replace("</main>", '<input type="text" id="q"><div style="width:600px">宽</div>'
                 '<p class="error-message">请填写</p></main>')
    )  # fmt: skip
    phone.add_script_tag(path=str(AXE))
    small = " ".join(phone.evaluate(TEXT_SIZES, MIN_TEXT_PX))
    assert "小字" in small and "图表标签" in small
    assert any(v.startswith("label ") for v in phone.evaluate(AXE_RUN))  # an input with no label
    assert phone.evaluate("() => document.documentElement.scrollWidth") > PHONE["width"]
    assert phone.evaluate(ERROR_SUMMARY) == "errors shown without an error summary"
