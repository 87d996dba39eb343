from django.core.management.base import BaseCommand

from gongzhi.core.audit import checkpoint, printed


class Command(BaseCommand):
    help = (
        "Record the audit chains' heads: a signed checkpoint in the database and a line appended to "
        "GONGZHI_AUDIT_CHECKPOINT_FILE, printed too (with the short form notices carry). Run it on a schedule "
        "(hourly: deploy/systemd/gongzhi-checkpoint-audit.timer)."
    )

    def handle(self, *args, **options):
        point = checkpoint()
        self.stdout.write(
            f"审计检查点 / audit checkpoint {point.created_at.isoformat()} chains={len(point.heads)} mac={point.mac}\n"
            f"{printed(point).text}"
        )
