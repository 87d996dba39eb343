"""Pages people can use: numbers as people write them, one language per message, the error summary naming each
field once, the notices' phase from their period, and the front door an anonymous visitor sees at /."""

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django import forms
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from gongzhi.core.templatetags.numbers import amount, area, percent, weight
from gongzhi.core.templatetags.pages import error_line, one_language


def test_numbers_to_their_precision_never_a_raw_decimal_sum():
    with translation.override("en"):
        assert area(Decimal("886.100000000000")) == "886.10"
        assert area(Decimal("12345.605")) == "12,345.61"  # half up, grouped
        assert weight(Decimal("569.2400000000000")) == "569.2"
        assert amount(3) == "3.00"
        assert percent(Fraction(2, 3)) == "66.67%"
        assert percent(Decimal("0.5000"), 0) == "50%"
        assert area(None) == percent("") == "—"


def test_a_bilingual_message_shows_the_pages_language_only():
    message = "表决已截止 / the vote has closed"
    assert one_language(message, "zh-hans") == "表决已截止"
    assert one_language(message, "en") == "the vote has closed"
    assert one_language("参与表决面积 / 总面积", "en") == "参与表决面积 / 总面积"  # not a pair: left alone
    assert one_language("a / b", "zh-hans") == "a / b"


def test_the_error_summary_names_each_field_once_and_links_to_it():
    class Form(forms.Form):
        phone = forms.CharField(label=gettext_lazy("联系电话"), max_length=3)
        count = forms.IntegerField(label=gettext_lazy("件数"), max_value=5)

    with translation.override("zh-hans"):
        form = Form({"phone": "1234", "count": "9"})
        html = render_to_string("core/form_errors.html", {"form": form})
        assert 'href="#id_phone"' in html and 'href="#id_count"' in html
        assert "联系电话：最多 3 个字（现在 4 个）。" in html  # our wording, not Django's 确保该变量…
        assert "件数：不能大于 5。" in html
        assert error_line("联系电话", "联系电话：请填写") == "联系电话：请填写"  # never 联系电话：联系电话：
        assert error_line("件数", "太多了 / too many") == "件数：太多了"
    with translation.override("en"):
        form = Form({"phone": "", "count": "x"})
        html = render_to_string("core/form_errors.html", {"form": form})
        assert "Contact phone: This field is required." in html  # English only, with English punctuation
        assert "Items: Enter a whole number." in html and "：" not in html


@pytest.mark.django_db
def test_a_notice_is_marked_from_its_period(persona, mini):
    from gongzhi.notices import actions
    from gongzhi.notices.models import Notice

    worker = persona("community_worker")
    today = timezone.localdate()

    def notice(posted_on):
        return actions.publish_notice(
            actor=worker,
            kind=Notice.Kind.OTHER,
            title="停车管理",
            body="正文",
            node=mini.courtyard,
            posted_on=posted_on,
        )

    assert notice(today - timedelta(days=2)).phase[0] == "current"
    assert notice(today - timedelta(days=400)).phase[0] == "ended"
    assert notice(today + timedelta(days=3)).phase[0] == "upcoming"
    withdrawn = notice(today)
    actions.withdraw_notice(withdrawn, actor=worker, reason="内容有误")
    withdrawn.refresh_from_db()
    with translation.override("zh-hans"):
        assert withdrawn.phase[:2] == ("withdrawn", "已撤回")
    with translation.override("en"):
        assert str(withdrawn.phase[1]) == "Withdrawn"


@pytest.mark.django_db
def test_the_front_door_for_an_anonymous_visitor(client, persona, mini, django_assert_max_num_queries):
    from gongzhi.notices import actions
    from gongzhi.notices.models import Notice

    worker = persona("community_worker")
    today = timezone.localdate()
    current = actions.publish_notice(
        actor=worker, kind=Notice.Kind.OTHER, title="正在公示的停车方案", body="正文", node=mini.courtyard
    )
    actions.publish_notice(
        actor=worker, kind=Notice.Kind.OTHER, title="去年的旧公示", body="正文", node=mini.courtyard,
        posted_on=date(today.year - 1, 1, 5),
    )  # fmt: skip
    with django_assert_max_num_queries(6):
        page = client.get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "正在公示的停车方案" in text and "去年的旧公示" not in text
    assert reverse("notices:detail", args=[current.pk]) in text
    for name in ("bulkywaste:start", "bulkywaste:report", "notices:list", "core:login"):
        assert reverse(name) in text
    assert 'href="tel:' in text
    # Every link on it opens for the same anonymous reader.
    import re

    for href in set(re.findall(r'<a [^>]*href="(/[^"]*)"', text)):
        assert client.get(href).status_code in (200, 302), href
    client.force_login(worker)
    assert "您好" in client.get("/").content.decode()  # signed in: the start page as before
