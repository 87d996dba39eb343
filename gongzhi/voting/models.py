"""Votes (表决): owners' joint decisions (民法典第278条), residents' meetings and renovation consent polls.

A vote covers a set of units frozen when it is called: the voter roll (`VoterRollEntry`, one row per head
after the SPC Interpretation Art. 9 merge) and its units (`VoterRollUnit`, each with its Art. 8 area and its
source). Each head casts at most one `Ballot`, whatever the channel — a database constraint carries that
guarantee. Every accepted ballot adds a `BallotLogEntry` (a leaf) to the vote's ballot log, without a lock on
the vote; the log's sealer numbers the new leaves in batches and signs the Merkle tree over them
(`BallotTreeHead`). The voter's receipt code is derived from the leaf's MAC, and the leaf's inclusion proof in
a signed tree head is the receipt anyone can check (see `receipts.py` and `merkle.py`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.functional import lazy
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from gongzhi.core.choices import TextChoices
from gongzhi.voting.tally import Matter


def _matter_label(matter: Matter) -> str:
    """An Art. 278 matter with its item number, in the page's language (tally.py keeps both wordings)."""
    if (get_language() or "").startswith("en"):
        return f"({matter.item}) {matter.label_en}"
    return f"（{matter.item}）{matter.label_zh}"


MATTER_CHOICES = [(m.value, lazy(_matter_label, str)(m)) for m in Matter]


class Vote(models.Model):
    """一次表决 — one owners' vote, residents' meeting or consent poll over a frozen set of units."""

    class Kind(TextChoices):
        OWNER = "owner", _("业主共同决定事项表决")
        RESIDENTS_MEETING = "residents_meeting", _("居民会议")
        CONSENT = "consent", _("改造意愿征询")

    class Status(TextChoices):
        DRAFT = "draft", _("草稿")
        ROLL_PUBLISHED = "roll_published", _("名册公示中")
        OPEN = "open", _("投票中")
        CLOSED = "closed", _("已截止")
        CERTIFIED = "certified", _("结果已确认")

    class MeetingBasis(TextChoices):
        HOUSEHOLDS = "households", _("户的代表")

    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices, default=Kind.OWNER)
    subject = models.CharField(_("表决事项"), max_length=200)
    description = models.TextField(_("说明"), blank=True)
    matter = models.CharField(_("法定事项"), max_length=20, choices=MATTER_CHOICES, blank=True)
    # A deliberation matter (or any other caller) that asked for this vote: "deliberation.matter:42".
    matter_ref = models.CharField(max_length=100, blank=True, db_index=True)
    # Consent polls: "at least num/den of households agree" (district configuration, e.g. 4/5).
    consent_numerator = models.PositiveSmallIntegerField(null=True, blank=True)
    consent_denominator = models.PositiveSmallIntegerField(null=True, blank=True)
    consent_inclusive = models.BooleanField(default=True)

    unit_set = models.ForeignKey("registry.UnitSet", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    scope = models.ForeignKey("registry.AreaNode", on_delete=models.PROTECT, related_name="votes")
    path = models.CharField(max_length=255, db_index=True, editable=False)  # copy of scope.path for scope checks

    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    notice_days = models.PositiveSmallIntegerField(_("公告期（日）"), default=15)
    roll_published_at = models.DateTimeField(null=True, blank=True)
    notice_ends_on = models.DateField(null=True, blank=True)  # last day of the notice period (Civil Code 201–203)
    opens_at = models.DateTimeField(_("开始投票"))
    closes_at = models.DateTimeField(_("截止投票"))
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    certified_at = models.DateTimeField(null=True, blank=True)
    certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    # Frozen totals of the roll, and running totals of the sealed ballots (turnout costs one row read; a ballot is
    # counted here when the sealer numbers it, within the same transaction at low load, within seconds in a burst).
    total_heads = models.PositiveIntegerField(default=0)
    total_units = models.PositiveIntegerField(default=0)
    total_area = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    ballot_count = models.PositiveIntegerField(default=0)
    participating_area = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    # The ballot log's sealed size and Merkle root ("0"×64 while empty); its latest signed head has both.
    log_length = models.PositiveIntegerField(default=0)
    log_head = models.CharField(max_length=64, default="0" * 64)
    log_frontier = models.JSONField(default=list)  # the tree's perfect subtrees' roots, largest first (merkle.append)

    result = models.JSONField(null=True, blank=True)  # the tally outcome, stored when the vote closes
    passed = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["path", "id"], name="vote_path_idx")]

    def __str__(self) -> str:
        return self.subject

    @property
    def matter_enum(self) -> Matter | None:
        return Matter(self.matter) if self.matter else None

    @property
    def roll_is_public(self) -> bool:
        return self.status != self.Status.DRAFT

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.CLOSED, self.Status.CERTIFIED)


class VoterRollEntry(models.Model):
    """表决名册中的一“人” — one head: the developer's units together, one owner's units together, or one
    co-owned unit voted by its designated voter (SPC Interpretation Art. 9)."""

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="roll")
    number = models.PositiveIntegerField()  # 1, 2, … in roll order (building, unit number)
    token = models.CharField(max_length=16)  # opaque id of this head in this vote (log, data file)
    developer = models.BooleanField(default=False)
    voter = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="roll_entries"
    )
    name_masked = models.CharField(max_length=100)
    units_label = models.CharField(max_length=255)  # "1号楼1单元101、102"
    unit_count = models.PositiveIntegerField(default=1)
    area = models.DecimalField(max_digits=14, decimal_places=2)
    area_source = models.CharField(max_length=12)  # registered / surveyed / contract / mixed

    class Meta:
        ordering = ["vote", "number"]
        constraints = [
            models.UniqueConstraint(fields=["vote", "number"], name="roll_number_unique"),
            models.UniqueConstraint(fields=["vote", "token"], name="roll_token_unique"),
        ]
        indexes = [models.Index(fields=["vote", "voter"], name="roll_voter_idx")]

    def __str__(self) -> str:
        return f"#{self.number} {self.name_masked}"


class VoterRollUnit(models.Model):
    """One unit of a head, with its exclusive area and where that area came from (SPC Interpretation Art. 8)."""

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="roll_units")
    entry = models.ForeignKey(VoterRollEntry, on_delete=models.CASCADE, related_name="units")
    unit = models.ForeignKey("registry.Unit", on_delete=models.PROTECT, related_name="+")
    token = models.CharField(max_length=16)  # opaque unit id in the data file
    building = models.ForeignKey("registry.AreaNode", null=True, on_delete=models.PROTECT, related_name="+")
    label = models.CharField(max_length=100)
    number = models.CharField(max_length=30)
    area = models.DecimalField(max_digits=12, decimal_places=2)
    area_source = models.CharField(max_length=12)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vote", "unit"], name="roll_unit_once")]
        indexes = [
            models.Index(fields=["vote", "number"], name="roll_unit_number_idx"),
            models.Index(fields=["vote", "building"], name="roll_unit_building_idx"),
        ]


class Ballot(models.Model):
    """选票 — the one ballot of a head; the unique constraint on (vote, roll_entry) is the one-vote guarantee."""

    class Choice(TextChoices):
        YES = "yes", _("同意")
        NO = "no", _("不同意")
        ABSTAIN = "abstain", _("弃权")

    class Channel(TextChoices):
        ONLINE = "online", _("网上投票")
        PAPER = "paper", _("纸质票")
        PHONE = "phone", _("电话/短信确认")
        DOOR = "door", _("入户（扫楼）")
        PROXY = "proxy", _("委托代理")

    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="ballots")
    roll_entry = models.ForeignKey(VoterRollEntry, on_delete=models.PROTECT, related_name="ballots")
    choice = models.CharField(max_length=8, choices=Choice.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    cast_at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    on_behalf_of = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proxy_name = models.CharField(_("代理人姓名"), max_length=100, blank=True)
    attachment = models.ForeignKey("core.Upload", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=64, blank=True)
    salt = models.CharField(max_length=32)  # keeps the public commitment from revealing the choice

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vote", "roll_entry"], name="one_ballot_per_head"),
            models.UniqueConstraint(
                fields=["vote", "idempotency_key"], condition=~Q(idempotency_key=""), name="ballot_idempotency_key"
            ),
        ]


class BallotLogEntry(models.Model):
    """选票日志 — one leaf of the vote's ballot log per accepted ballot, no choice in clear.

    Written with the ballot (`seq` empty: pending), numbered by the sealer in the order the ballots committed.
    Entries from before the Merkle log (`prev_mac` set) keep their hash-chain MACs and are the log's first leaves.
    """

    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="log")
    seq = models.PositiveIntegerField(null=True, blank=True)  # 1, 2, … once sealed
    roll_token = models.CharField(max_length=16)
    commitment = models.CharField(max_length=64)
    recorded_at = models.DateTimeField()
    prev_mac = models.CharField(
        max_length=64, blank=True
    )  # only in entries written as a hash chain (before migration 0002)
    mac = models.CharField(max_length=64)
    leaf_hash = models.CharField(max_length=64, default="")  # SHA-256(0x00 ‖ leaf bytes), see receipts.leaf_bytes
    receipt_code = models.CharField(max_length=12, unique=True)  # derived from `mac`, shown as XXXX-XXXX-XXXX

    class Meta:
        ordering = ["vote", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["vote", "seq"], name="ballot_log_seq_unique"),
            models.UniqueConstraint(fields=["vote", "roll_token"], name="ballot_log_head_once"),
        ]
        indexes = [models.Index(fields=["vote", "id"], condition=Q(seq__isnull=True), name="ballot_log_pending_idx")]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("ballot log entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("ballot log entries are append-only")


class BallotTreeHead(models.Model):
    """A signed tree head (签名树根): the ballot log's size and Merkle root at a moment, signed with the log's
    Ed25519 key. Each seal adds one; every earlier head stays, so anyone can check that the log only grew."""

    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="tree_heads")
    tree_size = models.PositiveIntegerField()
    root_hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()
    signature = models.CharField(max_length=128)

    class Meta:
        ordering = ["vote", "tree_size"]
        constraints = [models.UniqueConstraint(fields=["vote", "tree_size"], name="tree_head_size_unique")]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("tree heads are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("tree heads are append-only")
