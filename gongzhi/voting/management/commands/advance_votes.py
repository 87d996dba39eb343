"""advance_votes — open votes whose opening time has come and close those whose closing time has passed.

Run every minute (cron, or a systemd timer). Safe to run twice or on two machines at once: each vote is locked
and re-checked, so nothing opens or closes twice (see `voting.actions.advance_due_votes`).
"""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand
from django.utils import timezone

from gongzhi.voting.actions import advance_due_votes


class Command(BaseCommand):
    help = "Open and close votes on time (idempotent; run every minute)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--now", type=datetime.fromisoformat, default=None, help="pretend it is this time (ISO 8601)"
        )

    def handle(self, *args, now=None, **opts):
        if now is not None and timezone.is_naive(now):
            now = timezone.make_aware(now)  # Asia/Shanghai, the platform's time zone
        opened, closed = advance_due_votes(now=now)
        self.stdout.write(f"开始投票 / opened: {len(opened)}; 截止投票 / closed: {len(closed)}")
