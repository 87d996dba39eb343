"""Voting's part of a person's data (see core.privacy): the roll entries that name them and their ballots.

Nothing is erased here: the roll, the ballots and the ballot log are the proof of an owners' decision
(民法典 Arts. 278, 280) and are kept as the law needs. The roll keeps only a masked name, and the link to the
registry person — whose record erasure blanks — identifies no one afterwards. The export gives how and when the
person voted, not the choice: that is on the voter's own receipt, not for a worker's copy.
"""

from __future__ import annotations

from django.db.models import Q

from gongzhi.core.privacy import Subject, holds_person_data
from gongzhi.voting.models import Ballot, VoterRollEntry


def export_roll(subject: Subject) -> list[dict]:
    return [
        {"vote": str(e.vote), "number": e.number, "units": e.units_label, "area": str(e.area)}
        for e in VoterRollEntry.objects.filter(voter=subject.person).select_related("vote").order_by("pk")
    ]


def export_ballots(subject: Subject) -> list[dict]:
    mine = Q(roll_entry__voter=subject.person) | Q(on_behalf_of=subject.person)
    return [
        {"vote": str(b.vote), "channel": b.channel, "cast_at": b.cast_at.isoformat(), "proxy_name": b.proxy_name}
        for b in Ballot.objects.filter(mine).select_related("vote").order_by("pk")
    ]


def register() -> None:
    holds_person_data("voting.roll", export=export_roll)
    holds_person_data("voting.ballots", export=export_ballots)
