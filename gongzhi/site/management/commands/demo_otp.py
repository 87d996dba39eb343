"""demo_otp — print the current 6-digit TOTP code of a demo user's authenticator (for the walk-through only)."""

from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from gongzhi.site.demo import DEMO_USERS


class Command(BaseCommand):
    help = "Print the current second-factor code of a demo user (registry_officer, district_admin)."

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", default="registry_officer")

    def handle(self, *args, username: str, **opts):
        if username not in {u[0] for u in DEMO_USERS}:
            raise CommandError(f"{username} 不是演示账号 / is not a demo account")
        device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
        if device is None:
            raise CommandError(f"{username} 没有动态码设备 / has no authenticator device (run load_demo first)")
        totp = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
