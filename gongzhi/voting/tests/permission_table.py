"""Voting's pages and API for an open owners' vote in 油漆厂家属院 (roll published, so its figures are public)."""

from testkit.permissions import PUBLIC, SIGNED_IN, Api, Page
from testkit.voting import build_owners_compound, open_vote_now
from testkit.world import make_user

# Who may read the masked roll of an open vote: supervising staff, ballot-entry workers and organisers.
ROLL_READERS = frozenset(
    {"district_admin", "subdistrict_staff", "community_worker", "registry_officer", "auditor"}
    | {"hotline_operator", "party_liaison"}
)


# The resident's own ballot pages are for the voters on the roll; no role makes one a voter.
VOTERS = frozenset()


def setup(world):
    compound = build_owners_compound(world.mini)
    organiser = make_user("perm-vote-organiser", "community_worker", world.mini.community)
    world.vote = open_vote_now(compound, organiser)
    world.roll_token = world.vote.roll.order_by("id").first().token


def vote(w):
    return {"pk": w.vote.pk}


def vote_id(w):
    return {"id": w.vote.pk}


TABLE = [
    Page("voting:list", who="staff", refused=302),  # everyone else is sent to 我的投票
    Page("voting:call", who="voting.organise"),
    Page("voting:mine", who=SIGNED_IN),
    Page("voting:detail", who=PUBLIC, kwargs=vote),
    # "open" on an open vote changes nothing: organisers are sent back to the vote with the reason.
    Page(
        "voting:step",
        who="voting.organise",
        method="post",
        kwargs=lambda w: {**vote(w), "step": "open"},
        ok=302,
        out=403,
    ),
    Page("voting:roll", who=ROLL_READERS, kwargs=vote, out=403),
    Page("voting:turnout", who=PUBLIC, kwargs=vote),
    Page("voting:result", who=PUBLIC, kwargs=vote),
    Page("voting:data", who=frozenset(), kwargs=vote),  # who voted how: only after the close
    Page("voting:verify", who=frozenset(), kwargs=vote),  # the recount page: as the data file, after the close
    Page("voting:receipt", who=PUBLIC, kwargs=vote),
    Page("voting:receipt_proof", who=PUBLIC, kwargs=vote, ok=400),  # no code given: 400 naming the field
    Page("voting:log", who=PUBLIC, kwargs=vote),
    Page("voting:resident-start", who=VOTERS, kwargs=vote),
    Page("voting:resident-code", who=VOTERS, kwargs=vote),
    Page("voting:resident-choice", who=VOTERS, kwargs=vote),
    Page("voting:resident-check", who=VOTERS, kwargs=vote),
    Page("voting:resident-done", who=SIGNED_IN, kwargs=vote, ok=302),  # nothing cast in this session: back
    Page("voting:enter", who="voting.enter_ballots", kwargs=vote, out=403),
    Page("voting:enter-form", who="voting.enter_ballots", kwargs=lambda w: {**vote(w), "token": w.roll_token}, out=403),
    Page(
        "voting:enter-check",
        who="voting.enter_ballots",
        kwargs=lambda w: {**vote(w), "token": w.roll_token},
        ok=302,  # without an entry in progress: back to the form
        out=403,
    ),
    Page("voting:enter-done", who="voting.enter_ballots", kwargs=vote, ok=302, out=403),  # nothing entered: back
    Api("/api/v1/votes/", who=SIGNED_IN),
    Api("/api/v1/votes/{id}/", who=SIGNED_IN, kwargs=vote_id),
    Api("/api/v1/votes/{id}/turnout/", who=SIGNED_IN, kwargs=vote_id),
    # Without an Idempotency-Key: 400 for those who may enter ballots, 403 for the others.
    Api("/api/v1/votes/{id}/ballots/", "post", who="voting.enter_ballots", kwargs=vote_id, ok=400, out=403),
    Api("/api/v1/receipts/{id}/", who=PUBLIC, kwargs=lambda w: {"id": "ABCD-EFGH-JKLM"}, ok=404),
    Api("/api/v1/receipts/{id}/proof/", who=PUBLIC, kwargs=lambda w: {"id": "ABCD-EFGH-JKLM"}, ok=404),
    # Posting the vote's roll notice: the publishers over the vote (the roll was posted already when the vote
    # opened, so a publisher is sent to the notices with the reason); out of scope or not a publisher: 403.
    Page(
        "voting:post_notice",
        who="notices.publish",
        method="post",
        kwargs=lambda w: {"vote_id": w.vote.pk, "kind": "roll"},
        ok=302,
        out=403,
    ),
]
