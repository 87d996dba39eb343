"""python manage.py export_person <person id> OUT.json [--actor <username>]"""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from gongzhi.registry.actions import export_person_data
from gongzhi.registry.models import Person


def actor_named(username: str | None):
    if not username:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"没有这个用户 / no active user named {username!r}")
    return user


class Command(BaseCommand):
    help = "导出一个人的全部个人信息（JSON；记入审计）/ export everything held about one person (JSON; audited)"

    def add_arguments(self, parser):
        parser.add_argument("person", type=int, help="人员编号 / person id")
        parser.add_argument("out", type=Path, help="OUT.json（- 为标准输出 / - for stdout）")
        parser.add_argument("--actor", help="以谁的身份导出（权限与审计）；省略为系统 / user acting; default: system")

    def handle(self, *args, person: int, out: Path, actor: str | None, **options):
        user = actor_named(actor)
        target = Person.objects.filter(pk=person).first()
        if target is None:
            raise CommandError(f"没有这个人 / no person with id {person}")
        try:
            data = export_person_data(target, actor=user, channel="command")
        except PermissionDenied:
            raise CommandError(f"{actor} 无权导出 / {actor} may not export this person's data") from None
        text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
        if str(out) == "-":
            self.stdout.write(text)
        else:
            out.write_text(text + "\n", encoding="utf-8")
            self.stdout.write(self.style.SUCCESS(f"{person} → {out}"))
