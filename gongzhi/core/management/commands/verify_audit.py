from django.core.management.base import BaseCommand, CommandError

from gongzhi.core.audit import PrintedCheckpointError, verify, verify_checkpoints, verify_printed
from gongzhi.core.models import AuditEntry


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chains and checkpoints; names the first bad entry of each broken chain and "
        "any chain cut short of a checkpoint's head (exit 1). --checkpoint checks the log against a checkpoint "
        "typed in from a printed notice (the 'GZCP …' line in its footer), which an insider cannot rewrite."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoint",
            action="append",
            default=[],
            metavar="TEXT",
            help='the checkpoint line from a notice, e.g. "GZCP 2026-12-02T20:35:00+08:00 n=1234 head=… sig=…"',
        )

    def handle(self, *args, **options):
        problems = list(verify()) + list(verify_checkpoints())
        for text in options["checkpoint"]:
            try:
                problems += list(verify_printed(text))
            except PrintedCheckpointError as e:
                raise CommandError(str(e)) from None
        total = AuditEntry.objects.count()
        if not problems:
            against = f"; {len(options['checkpoint'])} printed checkpoint(s) reached" if options["checkpoint"] else ""
            self.stdout.write(self.style.SUCCESS(f"审计日志完整 / audit log intact: {total} entries verified{against}"))
            return
        for p in problems:
            if p.chain == -1:
                self.stderr.write(f"检查点异常 / checkpoint problem: {p.reason}")
            else:
                self.stderr.write(
                    f"第一个异常条目 / first bad entry: id={p.entry_id} chain={p.chain} seq={p.seq}: {p.reason}"
                )
        raise SystemExit(1)
