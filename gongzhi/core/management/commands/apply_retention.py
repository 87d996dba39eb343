"""python manage.py apply_retention [--dry-run] [--batch N] [--now ISO]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gongzhi.core import privacy


class Command(BaseCommand):
    help = (
        "按保存期限删除或匿名化过期的个人信息（docs/PRIVACY.md）/ delete or anonymise personal data past its "
        "retention period, in batches; safe to run twice or on two machines at once; audited with counts only"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="只显示将处理多少行，不写入 / print what would be done, write nothing",
        )
        parser.add_argument("--batch", type=int, default=500, help="每批行数 / rows per transaction (500)")
        parser.add_argument("--now", help="以此时刻计算（测试、补跑）/ count periods from this ISO time, not now")

    def handle(self, *args, dry_run: bool, batch: int, now: str | None, **options):
        if batch < 1:
            raise CommandError("--batch 至少为 1 / --batch must be at least 1")
        at = timezone.now()
        if now:
            parsed = parse_datetime(now)
            if parsed is None:
                raise CommandError(f"--now 不是时间 / --now is not an ISO date-time: {now!r}")
            at = parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
        counts = privacy.apply_retention(now=at, dry_run=dry_run, batch=batch)
        verb = "将处理 / would change" if dry_run else "已处理 / changed"
        for kind in sorted(privacy.PERIODS):
            days = privacy.days_for(kind)
            if days is None:
                self.stdout.write(f"{kind}: 保留 / kept ({privacy.PERIODS[kind].action})")
            elif kind in counts:
                self.stdout.write(f"{kind}: {days} 天 days → {verb} {counts[kind]}")
            else:
                self.stdout.write(f"{kind}: {days} 天 days → 未安装 / no rule installed")
        if dry_run:
            self.stdout.write("演练，未写入 / dry run: nothing written")
