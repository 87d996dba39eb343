"""What bulky waste offers on the public front door: booking a pickup and reporting dumping."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def offer(request) -> dict[str, list]:
    return {
        "services": [
            ("bulkywaste:start", _("预约大件垃圾上门回收"), _("哪些物品算大件、怎样预约、什么时候来收")),
            ("bulkywaste:report", _("举报乱丢大件垃圾"), _("看到楼道、路边堆放的大件垃圾，告诉我们地点")),
        ]
    }
