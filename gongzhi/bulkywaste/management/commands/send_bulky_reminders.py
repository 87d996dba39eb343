"""send_bulky_reminders — SMS every contact of tomorrow's bulky-waste bookings their pickup time, once, when the
day is fixed (the area's cut-off): run it every ten minutes (deploy/systemd/gongzhi-bulky-reminders.timer), so that
every area is told soon after its own cut-off.

Idempotent: each booking's reminder flag is set by a conditional UPDATE before its message is queued, so a
second run (or two workers at once) sends nothing twice.
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand

from gongzhi.bulkywaste.actions import send_reminders


class Command(BaseCommand):
    help = "Send SMS reminders for tomorrow's bulky-waste pickups (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--today", type=date.fromisoformat, default=None, help="pretend today is YYYY-MM-DD")

    def handle(self, *args, today=None, **opts):
        sent = send_reminders(today=today)
        self.stdout.write(f"已发送提醒 / reminders sent: {sent}")
