"""load_demo — the demo district of the seed's story, with a demo account for every role.

    python manage.py load_demo            # idempotent: a second run adds nothing and prints the accounts again
    python manage.py load_demo --reset    # start again from an empty database (only if it holds nothing but the demo)

Every app may add to the demo with `gongzhi/<app>/demo.py::load(ctx)` (see gongzhi.site.demo).
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections

from gongzhi.core.models import User
from gongzhi.registry.models import AreaNode
from gongzhi.site import demo


def demo_loaders() -> list:
    """`load` of every installed gongzhi app's demo module: the site's base (district, accounts) first, then INSTALLED_APPS order."""
    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("gongzhi."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.demo")
        except ModuleNotFoundError as e:
            if e.name != f"{config.name}.demo":
                raise
            continue
        if hasattr(module, "load"):
            found.append(module.load)
    found.sort(key=lambda f: f.__module__ != "gongzhi.site.demo")
    return found


class Command(BaseCommand):
    help = "Load the demo district (二七区) with its story and a demo account per role; prints the accounts."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="wipe the database first (only if it holds only the demo)"
        )

    def handle(self, *args, reset: bool, **opts):
        if reset:
            self.reset()
        started = time.monotonic()
        ctx = demo.DemoContext(stdout=self.stdout)
        for load in demo_loaders():
            load(ctx)
        self.stdout.write(f"({time.monotonic() - started:.1f}s)\n")
        self.print_accounts(ctx)

    def print_accounts(self, ctx: demo.DemoContext) -> None:
        rows = [("用户 user", "角色 role", "范围 scope", "密码 password"), *ctx.accounts]

        def width(text: str) -> int:  # CJK characters take two columns in a terminal
            return sum(2 if ord(c) > 0x2E80 else 1 for c in text)

        widths = [max(width(r[i]) for r in rows) for i in range(4)]
        self.stdout.write("演示账号 / demo accounts — http://127.0.0.1:8000/accounts/login/")
        for n, row in enumerate(rows):
            self.stdout.write("  ".join(c + " " * (w - width(c)) for c, w in zip(row, widths, strict=True)).rstrip())
            if n == 0:
                self.stdout.write("  ".join("-" * w for w in widths))
        for note in ctx.notes:
            self.stdout.write(f"* {note}")

    def reset(self) -> None:
        """Only a database that holds nothing but the demo may be wiped: the audit log is append-only by design."""
        demo_names = {u[0] for u in demo.DEMO_USERS}
        roots = set(AreaNode.objects.filter(parent=None).values_list("name", flat=True))
        others = User.objects.exclude(username__in=demo_names).exists()
        if roots - {demo.DISTRICT} or others:
            raise CommandError(
                "数据库中有演示以外的数据，拒绝重置 / the database holds data besides the demo; refusing to reset"
            )
        settings = connection.settings_dict
        if connection.vendor == "sqlite":
            name = Path(settings["NAME"])
            connections.close_all()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{name}{suffix}").unlink(missing_ok=True)
        elif connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        else:
            raise CommandError(f"--reset does not support {connection.vendor}")
        self.stdout.write("已清空数据库 / database wiped; migrating …")
        call_command("migrate", verbosity=0)
