"""Notices: periods by the Civil Code, the 15-day assembly rule, the public page, the A4 PDF with a CJK font."""

import os
import shutil
import subprocess
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from gongzhi.core import audit
from gongzhi.core.models import AuditEntry
from gongzhi.notices import actions
from gongzhi.notices.actions import NoticeError
from gongzhi.notices.models import Notice
from gongzhi.notices.periods import assembly_notice_in_time, earliest_assembly_day, notice_period
from gongzhi.notices.tasks import render_notice_pdf

pytestmark = pytest.mark.django_db

# In CI a missing tool fails the test instead of skipping it (scripts/test.sh installs poppler-utils).
needs_poppler = pytest.mark.skipif(
    not shutil.which("pdffonts") and not os.environ.get("CI"),
    reason="poppler-utils (pdffonts, pdftotext) not installed",
)


def test_period_starts_the_next_day_and_a_holiday_end_moves_to_a_working_day():
    p = notice_period(date(2026, 9, 24), 7)  # would end on 1 Oct, National Day
    assert (p.start, p.end) == (date(2026, 9, 25), date(2026, 10, 8))
    p = notice_period(date(2026, 6, 1), 7)  # ends Monday 8 June, a working day
    assert (p.start, p.end) == (date(2026, 6, 2), date(2026, 6, 8))
    p = notice_period(date(2026, 6, 5), 7)  # would end Friday 12 June
    assert p.end == date(2026, 6, 12)
    p = notice_period(date(2026, 6, 6), 7)  # would end Saturday 13 June → Monday 15 June
    assert p.end == date(2026, 6, 15)


def test_assembly_notice_fifteen_days():
    assert earliest_assembly_day(date(2026, 6, 1)) == date(2026, 6, 16)
    assert assembly_notice_in_time(date(2026, 6, 1), date(2026, 6, 16))
    assert not assembly_notice_in_time(date(2026, 6, 1), date(2026, 6, 15))


def publish(actor, node, **kw):
    defaults = dict(
        kind=Notice.Kind.OTHER, title="关于油漆厂家属院停车管理的公示", body="第一段。\n\n第二段。", node=node
    )
    return actions.publish_notice(actor=actor, **{**defaults, **kw})


def test_publish_refuses_an_assembly_sooner_than_fifteen_days(persona, mini):
    worker = persona("community_worker")
    with pytest.raises(NoticeError) as err:
        publish(
            worker, mini.courtyard, kind=Notice.Kind.ASSEMBLY, posted_on=date(2026, 6, 1), meeting_on=date(2026, 6, 15)
        )
    assert err.value.field == "meeting_on" and "第十四条" in err.value.zh and "2026-06-16" in err.value.en
    n = publish(
        worker, mini.courtyard, kind=Notice.Kind.ASSEMBLY, posted_on=date(2026, 6, 1), meeting_on=date(2026, 6, 16)
    )
    assert (n.period_days, n.period_end) == (15, date(2026, 6, 16))


def test_publishing_needs_a_publisher_in_scope(persona, mini):
    with pytest.raises(PermissionDenied):
        publish(persona("community_worker", mini.other_subdistrict), mini.courtyard)
    with pytest.raises(PermissionDenied):
        publish(persona("hotline_operator"), mini.courtyard)
    with pytest.raises(NoticeError) as err:
        publish(persona("community_worker"), mini.courtyard, title=" ")
    assert err.value.field == "title"
    assert not Notice.objects.exists()


def test_public_page_without_sign_in_and_withdrawn_notices_hidden(client, persona, mini):
    worker = persona("community_worker")
    n = publish(worker, mini.courtyard, posted_on=date(2026, 9, 24))
    page = client.get(reverse("notices:detail", args=[n.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert n.title in text and "2026年9月25日" in text and "2026年10月8日" in text
    actions.withdraw_notice(n, actor=worker, reason="内容有误")
    assert client.get(reverse("notices:detail", args=[n.pk])).status_code == 404
    client.force_login(worker)
    assert client.get(reverse("notices:detail", args=[n.pk])).status_code == 200


@needs_poppler
def test_pdf_is_generated_after_commit_with_chinese_text_and_an_embedded_cjk_font(
    client, persona, mini, django_capture_on_commit_callbacks, tmp_path
):
    worker = persona("community_worker")
    with django_capture_on_commit_callbacks(execute=True):
        n = publish(worker, mini.courtyard, posted_on=date(2026, 9, 24))
    n.refresh_from_db()
    assert n.pdf_is_current
    response = client.get(reverse("notices:pdf", args=[n.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    data = b"".join(response.streaming_content)
    assert data.startswith(b"%PDF-")
    path = tmp_path / "n.pdf"
    path.write_bytes(data)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "油漆厂家属院停车管理" in text and "2026年10月8日" in text
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    cid = [line for line in fonts if "CID" in line]
    assert cid and all(" yes " in line for line in cid)  # embedded
    # Changing the notice makes a new PDF; the old one is not served.
    first = n.pdf.name
    with django_capture_on_commit_callbacks(execute=True):
        actions.update_notice(n, actor=worker, title="关于油漆厂家属院停车管理的公示（更正）")
    n.refresh_from_db()
    assert n.pdf_is_current and n.pdf.name != first


def test_pdf_task_is_cached(persona, mini, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        n = publish(persona("community_worker"), mini.courtyard)
    n.refresh_from_db()
    name = n.pdf.name
    render_notice_pdf.call(n.pk)
    n.refresh_from_db()
    assert n.pdf.name == name


def test_pdf_download_before_it_is_ready_says_so(client, persona, mini):
    n = publish(persona("community_worker"), mini.courtyard)  # on_commit never ran: no PDF yet
    response = client.get(reverse("notices:pdf", args=[n.pk]))
    assert response.status_code == 202
    assert "正在生成" in response.content.decode()


def test_every_change_is_audited(persona, mini):
    worker = persona("community_worker")
    n = publish(worker, mini.courtyard)
    actions.update_notice(n, actor=worker, body="更正后的正文")
    actions.withdraw_notice(n, actor=worker, reason="撤回")
    assert list(
        AuditEntry.objects.filter(target_type="notices.notice").order_by("id").values_list("action", flat=True)
    ) == [
        "notices.publish",
        "notices.update",
        "notices.withdraw",
    ]


def test_public_list_query_budget(client, persona, mini, django_assert_max_num_queries):
    worker = persona("community_worker")
    for i in range(3):
        publish(worker, mini.courtyard, title=f"公示{i}")
    with django_assert_max_num_queries(6):
        assert client.get(reverse("notices:list")).status_code == 200
    for i in range(30):
        publish(worker, mini.courtyard, title=f"更多公示{i}")
    with django_assert_max_num_queries(6):
        assert client.get(reverse("notices:list")).status_code == 200


@needs_poppler
def test_every_notice_carries_the_latest_audit_checkpoint_on_its_page_and_at_the_foot_of_its_pdf(
    client, persona, mini, tmp_path, settings, monkeypatch
):
    settings.GONGZHI_AUDIT_CHECKPOINT_FILE = tmp_path / "audit-checkpoints.jsonl"
    n = publish(persona("community_worker"), mini.courtyard)
    detail = reverse("notices:detail", args=[n.pk])
    assert "GZCP" not in client.get(detail).content.decode()  # no checkpoint taken yet: nothing to print
    audit.checkpoint()
    printed = audit.latest_printed()
    html = client.get(detail).content.decode()
    assert printed.text in html and "审计检查点" in html

    render_notice_pdf.call(n.pk)
    n.refresh_from_db()
    path = tmp_path / "n.pdf"
    path.write_bytes(n.pdf.read())
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert f"审计检查点 {printed.text}" in text
    assert audit.parse_printed(text) == printed and audit.parse_printed(text).genuine  # typed back in: ours

    # A later checkpoint the same day keeps the PDF; the next day's makes it again, with that day's line.
    audit.checkpoint()
    n.refresh_from_db()
    assert n.pdf_is_current
    tomorrow = timezone.now() + timedelta(days=1)
    monkeypatch.setattr(audit.timezone, "now", lambda: tomorrow)
    audit.checkpoint()
    monkeypatch.undo()
    assert not n.pdf_is_current
    render_notice_pdf.call(n.pk)
    n.refresh_from_db()
    assert n.pdf_is_current and audit.latest_printed().at[:10] == timezone.localtime(tomorrow).date().isoformat()
