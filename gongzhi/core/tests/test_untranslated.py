"""The crawl's check for Chinese interface text on English pages (testkit/untranslated.py) finds what it should."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from testkit.untranslated import interface_and_data, untranslated


def test_interface_strings_come_from_the_catalogues_and_the_code_and_data_from_the_demo():
    interface, data = interface_and_data()
    assert "登录" in interface  # a msgid of the core catalogue
    assert "双人床" in interface  # a catalogue name in bulkywaste/sizing.py
    assert "油漆厂家属院" in data  # a compound of the demo district


def test_interface_text_is_found_and_data_and_chinese_marked_parts_are_not():
    page = (
        "<html><body><h1>登录</h1><p>油漆厂家属院</p><span lang='zh-Hans'>登录</span>"
        "<script>var x = '登录';</script><img alt='双人床' src='x.png'><p>Sign in</p></body></html>"
    )
    assert untranslated(page) == ["登录", "双人床"]


def test_a_run_is_matched_whole_not_inside_longer_data():
    assert untranslated("<p>登录信息丰富的油漆厂</p>") == []


@pytest.mark.django_db
def test_the_english_sign_in_page_has_no_chinese_interface_text(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert untranslated(client.get(reverse("core:login")).content.decode()) == []
