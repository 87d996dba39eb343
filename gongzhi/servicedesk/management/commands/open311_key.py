"""open311_key NAME — create an Open311 client and print its new API key alone on the last line.

Only a keyed hash of the key is stored: copy the key now, it cannot be shown again. The client files requests
within `--node` (an area node id; the district by default) at most `--per-minute` times a minute.
"""

from django.core.management.base import BaseCommand, CommandError

from gongzhi.registry.models import AreaNode
from gongzhi.servicedesk import actions
from gongzhi.servicedesk.actions import DeskError


class Command(BaseCommand):
    help = "Create an Open311 client; prints its API key alone on the last line (only its hash is kept)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--node", type=int, help="area node id the client files within (default: the district)")
        parser.add_argument("--per-minute", type=int, default=30)

    def handle(self, *args, name: str, node: int | None, per_minute: int, **opts):
        area = AreaNode.objects.filter(pk=node).first() if node else AreaNode.objects.filter(parent=None).first()
        if area is None:
            raise CommandError("没有这个区域节点 / no such area node")
        if per_minute < 1:
            raise CommandError("--per-minute 至少为1 / must be at least 1")
        try:
            client, key = actions.create_open311_client(actor=None, name=name, node=area, per_minute=per_minute)
        except DeskError as e:
            raise CommandError(f"{e.zh} / {e.en}") from None
        self.stdout.write(f"Open311 客户端 / client “{client.name}” 已创建 / created ({area.name}, {per_minute}/min).")
        self.stdout.write("密钥只显示这一次 / the key is shown this once:")
        self.stdout.write(key)
