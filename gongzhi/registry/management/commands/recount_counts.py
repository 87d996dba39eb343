"""recount_counts — set the counts stored on the area nodes right from the rows (nightly, after midnight).

Residents turn 60 or 80 without any row changing, so the stored elderly counts move every day; anything else
that drifted (a row written past the registry's actions) is set right the same way. Safe to run twice
or on two machines at once: a compound is recounted under its row locks.

    python manage.py recount_counts [--dry-run] [--today YYYY-MM-DD]
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from gongzhi.registry import actions


class Command(BaseCommand):
    help = "按行重新统计区域节点上保存的户数、人数、老年人数 / recount the counts stored on the area nodes"

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="只显示不一致之处，不写入 / print what differs, write nothing"
        )
        parser.add_argument("--today", help="按此日期计算年龄（补跑）/ count ages on this date (YYYY-MM-DD)")

    def handle(self, *args, dry_run: bool, today: str | None, **options):
        day = None
        if today:
            try:
                day = date.fromisoformat(today)
            except ValueError:
                raise CommandError(f"--today 不是日期 / --today is not a date (YYYY-MM-DD): {today!r}") from None
        drifts = actions.recount_counts(actor=None, today=day, dry_run=dry_run)
        for drift in drifts:
            fields = ", ".join(f"{field} {stored}→{counted}" for field, (stored, counted) in drift.fields.items())
            what = f"unit {drift.unit_id}" if drift.unit_id else f"node {drift.node_id}"
            self.stdout.write(f"{what} {drift.name}: {fields}")
        verb = "不一致（未改）/ differ (not changed)" if dry_run else "已更正 / corrected"
        units = sum(1 for d in drifts if d.unit_id)
        nodes = len(drifts) - units
        self.stdout.write(f"{units} 套房屋、{nodes} 个节点{verb} / {units} unit(s), {nodes} node(s)")
