"""The one place deliberation reads the voting app: the state of the owners' vote that resolves a matter.

Imported lazily so deliberation works (and migrates) on its own; a matter links a vote by id and the vote
carries `matter_ref = "deliberation.matter:<id>"` back.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VoteState:
    id: int
    subject: str
    status: str
    certified: bool
    passed: bool | None
    matter_ref: str
    path: str


def vote_state(vote_id: int) -> VoteState | None:
    try:
        from gongzhi.voting.models import Vote  # at call time: the voting app is optional for deliberation
    except ImportError:  # pragma: no cover - voting app not installed
        return None
    row = Vote.objects.filter(pk=vote_id).values("pk", "subject", "status", "passed", "matter_ref", "path").first()
    if row is None:
        return None
    return VoteState(
        id=row["pk"],
        subject=row["subject"],
        status=row["status"],
        certified=row["status"] == "certified",
        passed=row["passed"],
        matter_ref=row["matter_ref"] or "",
        path=row["path"] or "",
    )
