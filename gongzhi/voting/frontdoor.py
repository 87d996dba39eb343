"""What the voting part offers on the public front door: results of public votes and the receipt check."""

from __future__ import annotations

from gongzhi.core import frontdoor, gate
from gongzhi.voting.selectors import public_votes


def offer(request) -> dict[str, list]:
    return {"votes": [v for v in public_votes(size=frontdoor.ROWS) if gate.allows(request.user, "voting.view_vote", v)]}
