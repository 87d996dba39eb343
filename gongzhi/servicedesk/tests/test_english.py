"""An order's timeline reads in the reader's language: what the platform says is stored as data (Event.params)
and put into words when shown; the follow-up call's script stays Chinese (it is read to the resident) with an
English gloss for the operator. Rows written before keep reading (migration 0002, or their note)."""

from __future__ import annotations

import importlib
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from gongzhi.servicedesk import actions
from gongzhi.servicedesk.models import Event
from testkit.untranslated import untranslated

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")
migration = importlib.import_module("gongzhi.servicedesk.migrations.0002_event_params")


def english(client, user):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def completed(submit, worker, liaison, operator):
    """An order received by the hotline, dispatched, chased by the schedule, taken and done."""
    req = submit(
        actor=operator, channel="hotline", requester_phone="13812345678", now=datetime(2025, 11, 3, 8, tzinfo=TZ)
    )
    actions.dispatch_request(req, actor=worker, now=datetime(2025, 11, 3, 8, 5, tzinfo=TZ))
    actions.escalate_due(now=datetime(2025, 11, 30, 9, tzinfo=TZ))
    req.refresh_from_db()
    actions.take_request(req, actor=liaison)
    actions.start_handling(req, actor=liaison)
    actions.contact_requester(req, actor=liaison)
    actions.complete_request(req, actor=liaison, resolution="已更换灯泡")
    return req


@pytest.fixture
def handled(completed, operator):
    """… and called back: not solved."""
    actions.record_follow_up(completed.calls.get(), actor=operator, outcome="reached", solved=False)
    return completed


def test_the_timeline_of_an_order_reads_in_english_and_in_chinese(client, handled, worker):
    kinds = set(Event.objects.filter(request=handled).values_list("kind", flat=True))
    assert {"accept", "dispatch", "escalate", "take", "follow_up"} <= kinds
    page = english(client, worker).get(reverse("servicedesk:order", args=[handled.pk])).content.decode()
    assert untranslated(page) == []
    for words in ("Received (Hotline", "Sent to", "automatic, as the time limit ran out", "System", "Not solved"):
        assert words in page, words
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get(reverse("servicedesk:order", args=[handled.pk])).content.decode()
    for words in ("热线受理", "到期自动", "系统", "未解决"):
        assert words in page, words


def test_the_dispatch_queue_names_its_filters_in_english(client, worker):
    page = english(client, worker).get(reverse("servicedesk:queue")).content.decode()
    assert "Awaiting dispatch" in page and untranslated(page) == []


def test_the_call_script_is_chinese_for_the_resident_with_an_english_gloss(client, completed, operator):
    call = completed.calls.get()
    page = english(client, operator).get(reverse("servicedesk:call", args=[call.pk])).content.decode()
    assert '<p class="lead" lang="zh-Hans">您好，这里是共治服务热线' in page
    assert "Hello, this is the Gongzhi service hotline" in page
    assert untranslated(page) == []
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get(reverse("servicedesk:call", args=[call.pk])).content.decode()
    assert "您好，这里是共治服务热线" in page and "Hello" not in page


def test_rows_written_before_params_are_read_back_by_the_migration():
    at = datetime(2025, 12, 30, 10, tzinfo=TZ)
    assert migration.params_of("accept", "热线受理") == {"channel": "hotline"}
    assert migration.params_of("take", "党员/联络员") == {"taker_kind": "party_member"}
    assert migration.params_of("follow_up", "未解决") == {"solved": False}
    assert migration.params_of("escalate", "催办（铁道家园社区）到期自动") == {
        "level": 1, "to": "铁道家园社区", "note": "", "auto": True
    }  # fmt: skip
    assert migration.params_of("escalate", "督办（福华街街道）请加快")["note"] == "请加快"
    # a time limit written without its year: the first such moment from the line's own on (here: next year)
    dispatch = migration.params_of("dispatch", "派至社区党员、志愿者接单；办理时限1月3日17:30", at)
    assert dispatch == {"to": "", "due": "2026-01-03T17:30:00+08:00"}
    assert migration.params_of("extend", "延期至12月31日09:00：等待配件", at) == {
        "due": "2025-12-31T09:00:00+08:00", "reason": "等待配件"
    }  # fmt: skip
    assert migration.params_of("complete", "已更换灯泡") == {}  # what a person wrote stays as written


def test_a_row_the_migration_could_not_read_shows_its_note(handled):
    event = Event.objects.filter(request=handled, kind="accept").get()
    event.params, event.note = {}, "热线受理"
    with translation.override("en"):
        assert event.text == "热线受理"
    event.params = {"channel": "hotline"}
    with translation.override("en"):
        assert event.text == "Received (Hotline)"


def test_a_time_limit_reads_as_people_write_it_in_each_language(cats):
    category = cats["stair_light"]
    with translation.override("zh-hans"):
        assert category.limit_text == f"{category.limit_value}{category.get_limit_unit_display()}"
    with translation.override("en"):
        text = category.limit_text
    assert text.startswith(f"{category.limit_value} ") and text == text.lower() and not untranslated(f"<p>{text}</p>")
