"""Verify the ballot logs (Merkle trees with signed heads) of one vote or of every vote:
`manage.py verify_ballot_log [VOTE_ID ...]`."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from gongzhi.voting.models import Vote
from gongzhi.voting.receipts import verify_ballot_log


class Command(BaseCommand):
    help = "Check every ballot log: leaves, MACs, commitments against ballots, numbering, signed tree heads."

    def add_arguments(self, parser):
        parser.add_argument("votes", nargs="*", type=int, help="vote ids (default: every vote)")

    def handle(self, *args, votes, **options):
        qs = Vote.objects.order_by("pk")
        if votes:
            qs = qs.filter(pk__in=votes)
        broken = 0
        for vote in qs.iterator():
            problems = verify_ballot_log(vote)
            if problems:
                broken += 1
                for p in problems:
                    self.stdout.write(f"vote {vote.pk}: BROKEN {p}")
            else:
                self.stdout.write(f"vote {vote.pk}: OK ({vote.log_length} entries)")
        if broken:
            self.stderr.write(f"{broken} vote(s) with a broken ballot log")
            sys.exit(1)
