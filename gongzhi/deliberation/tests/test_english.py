"""A matter's history reads in the reader's language: each line keeps its details as data (StageEvent.params)
and is put into words when shown; stage names come from the stage's two names. Lines written before are read
back by migration 0003 or, failing that, show the summary they were written with."""

from __future__ import annotations

import importlib
from datetime import date

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from gongzhi.deliberation import actions
from gongzhi.deliberation.models import StageEvent
from gongzhi.deliberation.tests.test_flow import resolve_by_assembly, to_resolve
from gongzhi.notices.models import Notice
from testkit.untranslated import untranslated

pytestmark = pytest.mark.django_db
migration = importlib.import_module("gongzhi.deliberation.migrations.0003_event_params")


def page(client, user, url, language):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client.get(url).content.decode()


@pytest.fixture
def implemented(scene, set_today):
    """The scene's matter walked to implementation: proposals, meetings, a resolution, an objection answered,
    a progress report and an account line."""
    m = to_resolve(scene, set_today)
    resolve_by_assembly(scene, m, date(2026, 9, 24))
    actions.advance_matter(m, actor=scene.officer, today=date(2026, 9, 24))
    m.refresh_from_db()
    set_today(date(2026, 9, 30))
    objection = actions.lodge_objection(m, actor=scene.resident, reasons="低层住户采光受影响")
    actions.answer_objection(objection, actor=scene.officer, answer="电梯井位于北侧，不影响采光")
    actions.advance_matter(m, actor=scene.officer, today=date(2026, 10, 9))
    m.refresh_from_db()
    actions.add_report(m, actor=scene.officer, kind="progress", text="基础施工完成", percent=40)
    actions.add_account_line(
        m, actor=scene.officer, direction="income", item="政府补贴", amount="200000", on=date(2026, 10, 20)
    )
    m.refresh_from_db()
    return m


def test_the_history_of_a_matter_reads_in_english(client, scene, implemented):
    url = reverse("deliberation:matter", args=[implemented.pk])
    english = page(client, scene.officer, url, "en")
    # The resolution text is what the worker typed (test_flow's "同意加装电梯方案（第2版）"): data, not interface.
    assert untranslated(english.replace(implemented.resolution_text, "")) == []
    for words in (
        "Solicit needs and opinions → Proposal by the party branch",
        "Proposal made (version 1)",
        "Proposal amended (version 2)",
        "Minutes: 党支部会议 (",
        " answered",
        "Progress report (40%)",
        "Income: 政府补贴, CNY 200000.00",
    ):
        assert words in english, words
    chinese = page(client, scene.officer, url, "zh-hans")
    for words in ("一征：征求意见 → 提议：党支部提议", "提出方案（第1版）", "修改方案（第2版）", "进度报告（40%）"):
        assert words in chinese, words


def test_the_matter_list_names_stages_in_english(client, scene, implemented):
    english = page(client, scene.officer, reverse("deliberation:list"), "en")
    assert "Implementation" in english and untranslated(english) == []


def test_a_resolution_notice_shows_the_document_in_chinese_and_its_interface_in_english(client, scene, implemented):
    notice = Notice.objects.get(matter=implemented, kind=Notice.Kind.RESOLUTION)
    english = page(client, scene.officer, reverse("notices:detail", args=[notice.pk]), "en")
    assert untranslated(english) == []
    assert '<h1 lang="zh-Hans">' in english and "Resolution summary" in english
    pdf_words = {c for t in notice.tables for c in t["columns"]}
    assert "项目" in pdf_words  # the stored notice (and its PDF) keep the bulletin board's Chinese


def test_rows_written_before_params_are_read_back_by_the_migration():
    stages = {
        "一征：征求意见": ["一征：征求意见", "Solicit needs and opinions"],
        "提议：党支部提议": ["提议：党支部提议", "Proposal"],
    }
    advance = migration.params_of("advance", "一征：征求意见 → 提议：党支部提议（入户征求完成）", stages)
    assert advance == {"from": stages["一征：征求意见"], "to": stages["提议：党支部提议"], "note": "入户征求完成"}
    assert migration.params_of("proposal", "修改方案（第2版） 审议修改", stages) == {
        "number": 2, "note": "审议修改", "amended": True
    }  # fmt: skip
    assert migration.params_of("minutes", "会议纪要：党支部会议（出席0人）", stages) == {
        "title": "党支部会议",
        "present": 0,
    }
    assert migration.params_of("report", "验收", stages) == {"kind": "acceptance", "percent": None}
    assert migration.params_of("account", "支出：电梯设备 180000.50元", stages) == {
        "direction": "expense", "item": "电梯设备", "amount": "180000.50"
    }  # fmt: skip
    assert migration.params_of("opinion", "收到需求（热线电话）YJ000001", stages)["channel"] == "hotline"
    assert migration.params_of("create", "something else", stages) == {}


def test_a_row_without_params_shows_its_summary(scene):
    event = StageEvent.objects.filter(matter=scene.matter, action="create").get()
    assert event.params == {"title": scene.matter.title}
    event.params = {}
    with translation.override("en"):
        assert event.text == event.summary == f"创建议题：{scene.matter.title}"
    event.params = {"title": scene.matter.title}
    with translation.override("en"):
        assert event.text == f"Matter created: {scene.matter.title}"
