"""What the service desk offers on the public front door: reporting a problem (after signing in) and the boards."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def offer(request) -> dict[str, list]:
    return {
        "services": [
            ("servicedesk:report", _("反映问题"), _("楼道灯坏了、下水道堵了、需要帮助：登录后告诉社区，按时办理")),
            ("servicedesk:boards", _("诉求办理公开看板"), _("各社区、街道的诉求办理情况和响应率、解决率、满意率")),
        ]
    }
