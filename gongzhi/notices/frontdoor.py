"""What the notices part offers on the public front door: the notices on the board today."""

from __future__ import annotations

from gongzhi.core import frontdoor, gate
from gongzhi.notices.selectors import notices_in_force


def offer(request) -> dict[str, list]:
    return {
        "notices": [
            n for n in notices_in_force(size=frontdoor.ROWS) if gate.allows(request.user, "notices.view_notice", n)
        ]
    }
