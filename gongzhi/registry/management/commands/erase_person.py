"""python manage.py erase_person <person id> --reason "..." [--actor <username>] [--yes]"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from gongzhi.registry.actions import erase_person
from gongzhi.registry.management.commands.export_person import actor_named
from gongzhi.registry.models import Person


class Command(BaseCommand):
    help = (
        "删除一个人的个人信息（不可恢复；审计日志照常可验证）/ erase one person's personal data everywhere "
        "(irreversible; the audit log still verifies)"
    )

    def add_arguments(self, parser):
        parser.add_argument("person", type=int, help="人员编号 / person id")
        parser.add_argument("--reason", required=True, help="删除理由（记入审计）/ why (kept in the audit log)")
        parser.add_argument("--actor", help="以谁的身份删除（权限与审计）；省略为系统 / user acting; default: system")
        parser.add_argument("--yes", action="store_true", help="不再确认 / do not ask for confirmation")

    def handle(self, *args, person: int, reason: str, actor: str | None, yes: bool, **options):
        user = actor_named(actor)
        target = Person.objects.filter(pk=person).first()
        if target is None:
            raise CommandError(f"没有这个人 / no person with id {person}")
        if not yes:
            answer = input(f"删除 {target} 的个人信息，不可恢复。输入 yes 继续 / erase {target}'s data? type yes: ")
            if answer.strip().lower() != "yes":
                raise CommandError("未删除 / not erased")
        try:
            counts = erase_person(target, actor=user, reason=reason)
        except PermissionDenied:
            raise CommandError(f"{actor} 无权删除 / {actor} may not erase this person's data") from None
        except ValidationError as e:
            raise CommandError("; ".join(e.messages)) from None
        for section, n in sorted(counts.items()):
            self.stdout.write(f"{section}: {n}")
        self.stdout.write(self.style.SUCCESS(f"已删除 / erased: person {person}"))
