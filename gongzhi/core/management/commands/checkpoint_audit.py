from django.core.management.base import BaseCommand

from gongzhi.core.audit import checkpoint


class Command(BaseCommand):
    help = (
        "Record the audit chains' heads: a signed checkpoint in the database and a line appended to "
        "GONGZHI_AUDIT_CHECKPOINT_FILE, printed too. Run it on a schedule (hourly: see docs/operations.md)."
    )

    def handle(self, *args, **options):
        point = checkpoint()
        self.stdout.write(
            f"审计检查点 / audit checkpoint {point.created_at.isoformat()} chains={len(point.heads)} mac={point.mac}"
        )
