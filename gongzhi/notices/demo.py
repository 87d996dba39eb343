"""Notices' part of the demo: a general notice and an owners' assembly notice, and every demo notice's PDF
rendered now (no worker needed to look). The votes' roll and result notices are voting's (voting/demo.py)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from gongzhi.core import audit
from gongzhi.notices import actions
from gongzhi.notices.models import Notice
from gongzhi.notices.tasks import render_notice_pdf


def load(ctx) -> None:
    try:
        worker = ctx.user("community_worker")
        court = ctx.compound("油漆厂家属院")
    except Exception:  # noqa: BLE001
        return
    if not Notice.objects.filter(title="关于规范油漆厂家属院停车秩序的公示").exists():
        actions.publish_notice(
            actor=worker,
            kind=Notice.Kind.OTHER,
            title="关于规范油漆厂家属院停车秩序的公示",
            node=court,
            days=7,
            body="为保障消防通道畅通，经居民议事会商议，院内停车实行划线定位管理。\n\n如有意见，请在公示期内向铁道家园社区居委会反映。",
        )
    hanghai = ctx.compound("航海小区一院")
    if not Notice.objects.filter(kind=Notice.Kind.ASSEMBLY, node=hanghai).exists():
        actions.publish_notice(
            actor=worker,
            kind=Notice.Kind.ASSEMBLY,
            title="关于召开航海小区业主大会会议的公告",
            node=hanghai,
            meeting_on=ctx.today + timedelta(days=16),
            body="定于公告所列日期召开业主大会会议，议题为选聘物业服务企业。业主可在确认身份后通过书面、电话、短信等方式表决。",
        )
    today = audit.latest_printed()
    if today is None or today.at[:10] != timezone.localdate().isoformat():
        audit.checkpoint()  # as the housekeeping timer would: the day's PDFs carry the day's audit checkpoint
    rendered = 0
    for notice in Notice.objects.filter(path__startswith=ctx.district.path).order_by("id")[:50]:
        if not notice.pdf_is_current:
            render_notice_pdf.call(notice.pk)
            rendered += 1
    if rendered:
        ctx.say(f"公示：已生成{rendered}份打印版PDF / notices: {rendered} PDFs rendered")
    ctx.notes.append("公示 /notices/（无需登录），每份可下载A4打印版 / public notices at /notices/ with A4 PDFs")
