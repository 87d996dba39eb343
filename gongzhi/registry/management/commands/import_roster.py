"""python manage.py import_roster --compound <id> FILE [--dry-run] [--skip-bad-rows] --actor <username>"""

from __future__ import annotations

import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from gongzhi.registry.importer import SUMMARY_KEYS, RosterFileError, import_roster
from gongzhi.registry.models import AreaNode


class Command(BaseCommand):
    help = "导入楼院花名册（.xlsx/.csv）/ import a compound's roster; exits 1 when rows are bad and nothing was written"

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--compound", type=int, required=True, help="楼院编号 / compound node id")
        parser.add_argument("--actor", required=True, help="以谁的身份导入（权限与审计）/ user name acting")
        parser.add_argument("--dry-run", action="store_true", help="只检查不写入 / check and count only")
        parser.add_argument("--skip-bad-rows", action="store_true", help="跳过有问题的行 / write the good rows")

    def handle(self, *args, file: Path, compound: int, actor: str, dry_run: bool, skip_bad_rows: bool, **options):
        user = get_user_model().objects.filter(username=actor, is_active=True).first()
        if user is None:
            raise CommandError(f"没有这个用户 / no active user named {actor!r}")
        node = AreaNode.objects.select_related("level").filter(pk=compound).first()
        if node is None:
            raise CommandError(f"没有这个楼院 / no compound with id {compound}")
        try:
            data = file.read_bytes()
        except OSError as e:
            raise CommandError(f"无法读取文件 / cannot read {file}: {e.strerror}") from None
        started = time.monotonic()
        try:
            report = import_roster(node, data, actor=user, dry_run=dry_run, skip_bad_rows=skip_bad_rows)
        except PermissionDenied:
            raise CommandError(f"{actor} 无权导入 {node.name} / {actor} may not import into this compound") from None
        except RosterFileError as e:
            raise CommandError(str(e)) from None
        except ValueError as e:
            raise CommandError(f"所选区域不是楼院 / {e}") from None
        elapsed = time.monotonic() - started

        for error in report.errors:
            self.stderr.write(str(error))
        for warning in report.warnings[:200]:
            self.stdout.write(f"提示 / note: {warning}")
        self.stdout.write(f"{node.name}: {report.total_rows} 行 rows, {len(report.bad_rows)} 行有问题 bad")
        for key in SUMMARY_KEYS:
            self.stdout.write(f"  {key}: {report.summary[key]}")
        if report.written:
            self.stdout.write(
                self.style.SUCCESS(
                    f"已导入 / written in {elapsed:.1f}s (导入编号 reference {report.audit_id}, sha256 {report.sha256[:16]}…)"
                    + (f"; 跳过 skipped rows: {len(report.skipped_rows)}" if report.skipped_rows else "")
                )
            )
        elif dry_run:
            self.stdout.write(f"试运行，未写入 / dry run, nothing written ({elapsed:.1f}s)")
        else:
            raise CommandError("有问题的行，未写入任何数据（可加 --skip-bad-rows）/ bad rows: nothing written")
