from django.core.management.base import BaseCommand

from gongzhi.core.jobs import reap
from gongzhi.core.sms import retry_due


class Command(BaseCommand):
    help = (
        "Find background jobs marked running whose worker died (their lock is free); mark them failed and retry "
        "or report them; queue again text messages whose retry is due. Run before each worker start "
        "(scripts/worker.sh) and every few minutes on a schedule."
    )

    def handle(self, *args, **options):
        for kind, object_id, outcome in reap():
            self.stdout.write(f"{kind} {object_id}: worker died — {outcome}")
        due = retry_due()
        if due:
            self.stdout.write(f"sms: {len(due)} message(s) queued again")
