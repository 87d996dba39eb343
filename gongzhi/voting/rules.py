"""Voting permissions, as predicates (views, API and admin ask `user.has_perm("voting.…", vote)`).

- organisers (registry editors in scope: community worker, subdistrict staff, district admin, registry officer)
  call a vote, publish its roll, open, close and certify it;
- workers who act for residents (not property-company staff: a vote may be about their own company) enter
  paper, phone, door-to-door and proxy ballots in their scope;
- the figures (turnout, result) are public once the roll is published;
- the masked voter roll is for the compound's owners, supervising staff and ballot-entry workers in scope;
- who voted how (and the recount data file) is personal information (个人信息保护法 Art. 25): only the
  compound's owners (民法典/郑州条例 Art. 22: owners may inspect the records) and supervising staff, and
  only after the vote has closed.
"""

from __future__ import annotations

import rules

from gongzhi.core.rules import holds
from gongzhi.registry.models import Ownership
from gongzhi.voting.models import VoterRollEntry

# Who: capabilities in gongzhi.core.roles. Supervising staff is the residents' committee side, not contractors
# or the property company (their own engagement is often what is being voted on).
is_vote_organiser = holds("voting.organise")
is_supervising_staff = holds("voting.supervise")
enters_ballots = holds("voting.enter_ballots")
is_staff_here = holds("staff")


@rules.predicate
def roll_is_public(user, vote) -> bool:
    return vote is not None and vote.roll_is_public


@rules.predicate
def vote_is_finished(user, vote) -> bool:
    return vote is not None and vote.is_finished


@rules.predicate
def is_owner_in_scope(user, vote) -> bool:
    """A resident whose person owns (now) a unit under the vote's scope node — an owner of the compound."""
    if vote is None or not getattr(user, "is_authenticated", False) or not getattr(user, "person_id", None):
        return False
    cache = user.__dict__.setdefault("_gongzhi_owner_of", {})
    if vote.path not in cache:
        cache[vote.path] = Ownership.objects.filter(
            person_id=user.person_id, until__isnull=True, unit__path__startswith=vote.path
        ).exists()
    return cache[vote.path]


@rules.predicate
def is_voter(user, vote) -> bool:
    """The signed-in person is the voter of a head on this vote's roll."""
    if vote is None or not getattr(user, "is_authenticated", False) or not getattr(user, "person_id", None):
        return False
    return VoterRollEntry.objects.filter(vote=vote, voter_id=user.person_id).exists()


rules.add_perm("voting.add_vote", is_vote_organiser)
rules.add_perm("voting.manage_vote", is_vote_organiser)
rules.add_perm("voting.view_vote", roll_is_public | is_supervising_staff)
rules.add_perm(
    "voting.view_roll",
    (roll_is_public & (is_owner_in_scope | is_supervising_staff | enters_ballots)) | is_vote_organiser,
)
rules.add_perm("voting.view_ballots", vote_is_finished & (is_owner_in_scope | is_supervising_staff))
rules.add_perm("voting.download_data", vote_is_finished & (is_owner_in_scope | is_supervising_staff))
rules.add_perm("voting.enter_ballot", enters_ballots)
rules.add_perm("voting.cast_ballot", is_voter)
rules.add_perm("voting.view_ballot_attachment", is_supervising_staff)
rules.add_perm("voting.view_vote_list", is_staff_here)  # the staff list of votes in scope
rules.add_perm("voting.view_menu_mine", holds("voting.vote_online"))  # the "my votes" menu entry
