"""servicedesk_escalate — the scheduled 催办/督办: run every five minutes
(deploy/systemd/gongzhi-servicedesk-escalate.timer, or cron).

Every live order whose limit is 80% used is chased (催办, the community); once late it is supervised by the
street (督办), and once late by as long again as its whole limit, by the district. Each level is written once.
"""

from django.core.management.base import BaseCommand

from gongzhi.servicedesk import actions


class Command(BaseCommand):
    help = "Chase and supervise service-desk orders whose time limit is near or past (催办/督办)."

    def handle(self, *args, **opts):
        count = actions.escalate_due()
        self.stdout.write(f"催办/督办 {count} 次 / {count} escalations")
