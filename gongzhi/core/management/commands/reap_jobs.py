from django.core.management.base import BaseCommand

from gongzhi.core.jobs import reap


class Command(BaseCommand):
    help = (
        "Find background jobs marked running whose worker died (their lock is free); mark them failed and retry "
        "or report them. Run before each worker start (scripts/worker.sh) and every minute on a schedule."
    )

    def handle(self, *args, **options):
        for kind, object_id, outcome in reap():
            self.stdout.write(f"{kind} {object_id}: worker died — {outcome}")
