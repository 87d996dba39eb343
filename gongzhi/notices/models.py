"""公示 — public notices: a web page anyone may read, a printable A4 PDF for the bulletin board, and a notice
period counted as the Civil Code says (Arts. 201–203: posted on day D, the period starts on D+1, and a last day
falling on a rest day or holiday moves to the next working day)."""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.core import audit


class Notice(models.Model):
    class Kind(models.TextChoices):
        VOTER_ROLL = "voter_roll", _("表决名册公示")
        RESOLUTION = "resolution", _("决议公示")
        RESULT = "result", _("表决结果公示")
        ACCOUNTS = "accounts", _("实施结果及收支公示")
        ASSEMBLY = "assembly", _("会议召开公告")
        OTHER = "other", _("其他公示")

    class Status(models.TextChoices):
        PUBLISHED = "published", _("公示中")
        WITHDRAWN = "withdrawn", _("已撤回")

    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("正文"))
    # Structured content rendered as tables (resolution text, result ratios, account lines); never personal
    # data beyond masked names. The voter roll's rows are read from the frozen roll, not copied here.
    tables = models.JSONField(default=list, blank=True)
    node = models.ForeignKey("registry.AreaNode", on_delete=models.PROTECT, related_name="notices")
    path = models.CharField(max_length=255, db_index=True, editable=False)
    matter = models.ForeignKey(
        "deliberation.Matter", null=True, blank=True, on_delete=models.PROTECT, related_name="notices"
    )
    vote_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)  # voting.Vote
    issuer = models.CharField(_("发布单位"), max_length=150)
    posted_on = models.DateField(_("张贴日期"))
    period_days = models.PositiveSmallIntegerField(_("公示期（日）"))
    period_start = models.DateField(_("公示期起"))
    period_end = models.DateField(_("公示期止"))
    meeting_on = models.DateField(_("会议日期"), null=True, blank=True)  # assembly notices
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PUBLISHED)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The cached PDF and the digest it was made from (print_digest); a changed notice gets a new PDF.
    pdf = models.FileField(upload_to="notices/", blank=True)
    pdf_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["path", "id"], name="notice_path_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def reference(self) -> str:
        return f"GS{self.pk:06d}"

    def content_hash(self) -> str:
        payload = {
            "v": 1,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "tables": self.tables,
            "issuer": self.issuer,
            "posted": str(self.posted_on),
            "start": str(self.period_start),
            "end": str(self.period_end),
            "meeting": str(self.meeting_on),
            "status": self.status,
            "vote": self.vote_id,
            "node": self.node_id,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()

    @property
    def phase(self) -> tuple[str, str, str]:
        """(code, label, tag class) from the status and today's date against the period: a published notice is
        未开始 before its period, 公示中 during it and 已期满 after it; a withdrawn one says so."""
        if self.status == self.Status.WITHDRAWN:
            return "withdrawn", _("已撤回"), "bad"
        today = timezone.localdate()
        if today < self.period_start:
            return "upcoming", _("未开始"), "warn"
        if today > self.period_end:
            return "ended", _("已期满"), "muted"
        return "current", _("公示中"), "ok"

    def print_digest(self, checkpoint: audit.PrintedCheckpoint | None) -> str:
        """What the PDF is made from: the notice's content and the day of the audit checkpoint in its footer, so
        each day's print carries that day's checkpoint (a PDF is made again on the first request of a new day)."""
        day = checkpoint.at[:10] if checkpoint else ""
        return hashlib.sha256(f"{self.content_hash()}|{day}".encode()).hexdigest()

    @property
    def pdf_is_current(self) -> bool:
        return bool(self.pdf) and self.pdf_hash == self.print_digest(audit.latest_printed())
