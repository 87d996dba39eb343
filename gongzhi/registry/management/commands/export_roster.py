"""python manage.py export_roster --node <id> OUT.xlsx|OUT.csv [--actor <username>] [--unmasked]"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from gongzhi.registry.exporter import export_roster
from gongzhi.registry.models import AreaNode


class Command(BaseCommand):
    help = "导出花名册（导入格式）/ export a compound's or building's roster in the import format (masked by default)"

    def add_arguments(self, parser):
        parser.add_argument("out", type=Path, help="OUT.xlsx 或 OUT.csv")
        parser.add_argument("--node", type=int, required=True, help="楼院或楼栋编号 / compound or building id")
        parser.add_argument("--actor", help="以谁的身份导出（权限与审计）；省略为系统 / user acting; default: system")
        parser.add_argument(
            "--unmasked",
            action="store_true",
            help="完整手机号和身份证号（须 --actor 有权限；记入审计）/ full phones and IDs (needs --actor's permission; audited)",
        )

    def handle(self, *args, out: Path, node: int, actor: str | None, unmasked: bool, **options):
        fmt = out.suffix.lower().lstrip(".")
        if fmt not in ("xlsx", "csv"):
            raise CommandError("输出文件应为 .xlsx 或 .csv / OUT must end in .xlsx or .csv")
        user = None
        if actor:
            user = get_user_model().objects.filter(username=actor, is_active=True).first()
            if user is None:
                raise CommandError(f"没有这个用户 / no active user named {actor!r}")
        elif unmasked:
            raise CommandError("--unmasked 需要 --actor / --unmasked needs --actor")
        area = AreaNode.objects.filter(pk=node).first()
        if area is None:
            raise CommandError(f"没有这个区域 / no node with id {node}")
        try:
            with out.open("wb") as f:
                rows = export_roster(area, f, actor=user, fmt=fmt, unmasked=unmasked)
        except PermissionDenied:
            out.unlink(missing_ok=True)
            raise CommandError(f"{actor} 无权导出 / {actor} may not export this roster") from None
        self.stdout.write(self.style.SUCCESS(f"{area.name}: {rows} 行 rows → {out}"))
