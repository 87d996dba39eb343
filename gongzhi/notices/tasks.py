"""Background work: render a notice's PDF after the change commits, cache it privately."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django_tasks import task

from gongzhi.core import audit, jobs
from gongzhi.notices.models import Notice


@task()
def render_notice_pdf(notice_id: int) -> str:
    """Render and store the PDF unless the stored one matches the notice and today's checkpoint; returns the digest."""
    with jobs.tracked("notice_pdf", notice_id):  # a worker dying mid-render is found by jobs.reap and retried
        return _render(notice_id)


@jobs.on_dead("notice_pdf")
def _pdf_worker_died(notice_id: int, attempts: int, gave_up: bool) -> None:
    if not gave_up:
        render_notice_pdf.enqueue(notice_id)  # reported in the log when it keeps dying (jobs.reap)


def _render(notice_id: int) -> str:
    from gongzhi.notices.pdf import notice_pdf_bytes

    notice = Notice.objects.select_related("node").get(pk=notice_id)
    checkpoint = audit.latest_printed()  # printed in the footer: the bulletin board keeps the log's head
    digest = notice.print_digest(checkpoint)
    if notice.pdf and notice.pdf_hash == digest:
        return digest
    data = notice_pdf_bytes(notice, checkpoint=checkpoint)
    old = notice.pdf.name if notice.pdf else ""
    notice.pdf.save(f"{notice.reference}-{digest[:12]}.pdf", ContentFile(data), save=False)
    # A cache column, not a state change: written directly, guarded so a newer edit is never overwritten.
    Notice.objects.filter(pk=notice.pk, updated_at=notice.updated_at).update(pdf=notice.pdf.name, pdf_hash=digest)
    if old and old != notice.pdf.name:
        notice.pdf.storage.delete(old)
    return digest


def schedule_pdf(notice: Notice) -> None:
    """Queue the PDF once the surrounding transaction commits (the worker must see the committed notice)."""
    from django.db import transaction

    notice_id = notice.pk
    transaction.on_commit(lambda: render_notice_pdf.enqueue(notice_id))
