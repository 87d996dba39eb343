from django.core.management.base import BaseCommand

from gongzhi.core.audit import verify, verify_checkpoints
from gongzhi.core.models import AuditEntry


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chains and checkpoints; names the first bad entry of each broken chain and "
        "any chain cut short of a checkpoint's head (exit 1)."
    )

    def handle(self, *args, **options):
        problems = list(verify()) + list(verify_checkpoints())
        total = AuditEntry.objects.count()
        if not problems:
            self.stdout.write(self.style.SUCCESS(f"审计日志完整 / audit log intact: {total} entries verified"))
            return
        for p in problems:
            if p.chain == -1:
                self.stderr.write(f"检查点异常 / checkpoint problem: {p.reason}")
            else:
                self.stderr.write(
                    f"第一个异常条目 / first bad entry: id={p.entry_id} chain={p.chain} seq={p.seq}: {p.reason}"
                )
        raise SystemExit(1)
