"""一征三议两公开 — deliberation of a matter (议题) through configurable stages.

A `ProcessTemplate` is an ordered list of `StageDefinition`s; each stage names the bodies that own it
(organisation-kind codes, or an assembly code), the features it opens (opinion, amend, meeting, vote,
object, report) and, for the public-notice stages, a notice period in days. A `Matter` walks the stages of
its template; everything that happens on the way is a row here (opinions, meetings, proposal versions,
objections, reports, accounts) plus a `StageEvent` on the timeline and an audit entry.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from gongzhi.core.choices import TextChoices

# Features a stage may open (adhocracy4-style feature flags; see rules.py for the predicates).
FEATURES = {
    "opinion": _("征求意见"),
    "amend": _("起草/修改方案"),
    "meeting": _("召开会议"),
    "vote": _("表决/决议"),
    "object": _("提出异议"),
    "report": _("进度报告与收支"),
}

# Bodies that are not organisations but assemblies of everyone concerned.
ASSEMBLY_BODIES = {
    "residents_assembly": _("居民大会/居民会议"),
    "owners_assembly": _("业主大会"),
}


class ProcessTemplate(models.Model):
    """A deliberation procedure; the default is Erqi's 一征三议两公开. A district may add its own."""

    code = models.SlugField(unique=True)
    name = models.CharField(_("名称"), max_length=100)
    # The area node this template is configured for (None = every district); the lowest match wins.
    node = models.ForeignKey("registry.AreaNode", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    is_default = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.name


class StageDefinition(models.Model):
    """One stage of a procedure: who owns it, what it opens, how long its public notice runs."""

    template = models.ForeignKey(ProcessTemplate, on_delete=models.CASCADE, related_name="stages")
    order = models.PositiveSmallIntegerField()
    code = models.SlugField()
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(max_length=80)
    # Owning bodies: OrgKind codes or ASSEMBLY_BODIES codes; the first one leads.
    bodies = models.JSONField(default=list, blank=True)
    features = models.JSONField(default=list, blank=True)
    notice_days = models.PositiveSmallIntegerField(_("公示期（日）"), null=True, blank=True)
    # When the stage is a public notice, the kind of notice posted on entering it (notices.Notice.Kind).
    notice_kind = models.CharField(max_length=20, blank=True)
    description = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["template", "order"]
        constraints = [
            models.UniqueConstraint(fields=["template", "order"], name="stage_order_unique"),
            models.UniqueConstraint(fields=["template", "code"], name="stage_code_unique"),
        ]

    @property
    def label(self) -> str:
        """The stage's name in the page's language (the English name is stored with the stage)."""
        return self.name_en if self.name_en and (get_language() or "").startswith("en") else self.name

    def __str__(self) -> str:
        return self.name

    def allows(self, feature: str) -> bool:
        return feature in (self.features or [])

    @property
    def is_final(self) -> bool:
        return self.code == "closed"


class Matter(models.Model):
    """议题 — one matter deliberated over a set of units."""

    class Resolution(TextChoices):
        NONE = "", _("尚未决议")
        ASSEMBLY = "assembly", _("居民大会决议")
        VOTE = "vote", _("业主表决")

    class Outcome(TextChoices):
        OPEN = "", _("进行中")
        DONE = "done", _("已完成")
        WITHDRAWN = "withdrawn", _("已终止")

    title = models.CharField(_("议题"), max_length=200)
    summary = models.TextField(_("说明"), blank=True)
    template = models.ForeignKey(ProcessTemplate, on_delete=models.PROTECT, related_name="matters")
    stage = models.ForeignKey(StageDefinition, on_delete=models.PROTECT, related_name="+")
    stage_entered_on = models.DateField()
    unit_set = models.ForeignKey("registry.UnitSet", on_delete=models.PROTECT, related_name="+")
    scope = models.ForeignKey("registry.AreaNode", on_delete=models.PROTECT, related_name="matters")
    path = models.CharField(max_length=255, db_index=True, editable=False)  # scope.path, for scope checks
    # The public notice of the current stage (Civil Code Arts. 201–203: posted on `notice_posted_on`,
    # the period starts the next day and ends on `notice_ends_on`, moved to a working day).
    notice_posted_on = models.DateField(null=True, blank=True)
    notice_ends_on = models.DateField(null=True, blank=True)
    resolution = models.CharField(_("决议方式"), max_length=10, choices=Resolution.choices, blank=True, default="")
    resolution_text = models.TextField(_("决议内容"), blank=True)
    resolved_on = models.DateField(null=True, blank=True)
    # The owners' vote deciding it (voting.Vote id; the voting app's row carries matter_ref back).
    vote_id = models.PositiveBigIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["path", "id"], name="matter_path_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def reference(self) -> str:
        return f"YT{self.pk:06d}"

    @property
    def vote_ref(self) -> str:
        return f"deliberation.matter:{self.pk}"


class StageEvent(models.Model):
    """One line of a matter's timeline: who did what, when, in which stage, with which documents."""

    # What happened, by the stored `action` code, and its details in `params` (names, numbers, codes), so the
    # line reads in the reader's language (`text`). `summary` keeps the Chinese sentence as it was written: the
    # record, and what rows written before `params` existed still show.
    ACTIONS = {
        "create": _("创建议题"),
        "advance": _("进入下一阶段"),
        "return": _("退回"),
        "withdraw": _("终止议题"),
        "opinion": _("收到意见"),
        "proposal": _("提出方案"),
        "meeting": _("安排会议"),
        "minutes": _("会议纪要"),
        "resolve": _("作出决议"),
        "link_vote": _("交由业主表决"),
        "vote": _("表决结果"),
        "objection": _("收到异议"),
        "answer_objection": _("答复异议"),
        "report": _("实施报告"),
        "account": _("收支记账"),
    }

    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="events")
    stage = models.ForeignKey(StageDefinition, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=40)
    summary = models.CharField(max_length=300)
    params = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(max_length=150, blank=True)
    on_behalf_of = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    body = models.CharField(max_length=50, blank=True)
    documents = models.ManyToManyField("core.Upload", blank=True, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["matter", "id"]

    @property
    def action_label(self) -> str:
        return self.ACTIONS.get(self.action, self.action)

    @property
    def text(self) -> str:
        """The details in the page's language, from `params`; a row without them shows its stored summary."""
        return (event_text(self.action, self.params) if self.params else "") or self.summary


def _pair(names) -> str:
    """A [Chinese, English] name pair stored in an event, in the page's language."""
    if isinstance(names, (list, tuple)) and names:
        english = len(names) > 1 and names[1] and (get_language() or "").startswith("en")
        return str(names[1] if english else names[0])
    return str(names or "")


def event_text(action: str, p: dict) -> str:
    """One timeline line's details, rendered at display time (see StageEvent.params)."""
    if action in ("advance", "return"):
        line = f"{_pair(p.get('from'))} → {_pair(p.get('to'))}"
        if action == "return":
            return _("%(line)s：%(reason)s") % {"line": line, "reason": p.get("reason", "")}
        return _("%(line)s（%(note)s）") % {"line": line, "note": p["note"]} if p.get("note") else line
    if action == "create":
        return _("创建议题：%(title)s") % {"title": p.get("title", "")}
    if action == "withdraw":
        return _("终止议题：%(reason)s") % {"reason": p.get("reason", "")}
    if action in ("opinion", "objection"):
        values = {"channel": Channel(p["channel"]).label if p.get("channel") in Channel.values else "", **p}
        if action == "objection":
            return _("收到异议 %(reference)s（%(channel)s）") % values
        if p.get("kind") == "need":
            return _("收到需求（%(channel)s）%(reference)s") % values
        return _("收到意见（%(channel)s）%(reference)s") % values
    if action == "proposal":
        line = (_("修改方案（第%(number)s版）") if p.get("amended") else _("提出方案（第%(number)s版）")) % p
        return f"{line} {p['note']}" if p.get("note") else line
    if action == "meeting":
        return _("安排会议：%(title)s（%(held_on)s）") % p
    if action == "minutes":
        return _("会议纪要：%(title)s（出席%(present)s人）") % p
    if action == "resolve":
        return _("居民大会作出决议（%(title)s）") % p
    if action == "link_vote":
        return _("由业主表决决议：%(subject)s") % p
    if action == "answer_objection":
        return (_("不予受理异议 %(reference)s") if p.get("dismissed") else _("答复异议 %(reference)s")) % p
    if action == "report":
        if p.get("kind") == "acceptance":
            return str(_("验收"))
        if p.get("percent") is not None:
            return _("进度报告（%(percent)s%%）") % p
        return str(_("进度报告"))
    if action == "account":
        direction = AccountLine.Direction(p["direction"]).label if p.get("direction") else ""
        return _("%(direction)s：%(item)s %(amount)s元") % {**p, "direction": direction}
    return ""


class ProposalVersion(models.Model):
    """方案 — the proposal text; every amendment is a new version (提议 v1, 审议 v2 …)."""

    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="proposals")
    number = models.PositiveSmallIntegerField()
    text = models.TextField(_("方案内容"))
    note = models.CharField(_("修改说明"), max_length=300, blank=True)
    stage = models.ForeignKey(StageDefinition, on_delete=models.PROTECT, related_name="+")
    meeting = models.ForeignKey("Meeting", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["matter", "number"]
        constraints = [models.UniqueConstraint(fields=["matter", "number"], name="proposal_version_unique")]


class Channel(TextChoices):
    ONLINE = "online", _("网上")
    HOTLINE = "hotline", _("热线电话")
    DOOR = "door", _("入户征求")
    MEETING = "meeting", _("会议")


class Opinion(models.Model):
    """一征 — a need or opinion of a household, online or entered for the resident by staff."""

    class Kind(TextChoices):
        NEED = "need", _("需求")
        OPINION = "opinion", _("意见建议")

    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="opinions")
    stage = models.ForeignKey(StageDefinition, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("registry.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, default=Kind.OPINION)
    text = models.TextField(_("内容"))
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    on_behalf_of = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["matter", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["matter", "idempotency_key"], condition=~Q(idempotency_key=""), name="opinion_idempotency_key"
            )
        ]

    @property
    def reference(self) -> str:
        return f"YJ{self.pk:07d}"


class Reach(models.Model):
    """逐户征求 — a household (unit) of the matter has been reached, by an opinion or a visit."""

    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="reached")
    unit = models.ForeignKey("registry.Unit", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["matter", "unit"], name="reach_once_per_unit")]


class Meeting(models.Model):
    """A meeting of a stage's owning body: agenda, attendance, minutes and attachments."""

    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="meetings")
    stage = models.ForeignKey(StageDefinition, on_delete=models.PROTECT, related_name="+")
    body = models.CharField(_("会议主体"), max_length=50)
    title = models.CharField(_("会议名称"), max_length=200)
    held_on = models.DateField(_("会议日期"))
    place = models.CharField(_("地点"), max_length=200, blank=True)
    agenda = models.TextField(_("议程"))
    minutes = models.TextField(_("会议纪要"), blank=True)
    minutes_at = models.DateTimeField(null=True, blank=True)
    attachments = models.ManyToManyField("core.Upload", blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["matter", "held_on", "id"]

    def __str__(self) -> str:
        return self.title


class Attendance(models.Model):
    class Status(TextChoices):
        UNKNOWN = "", _("未登记")
        PRESENT = "present", _("出席")
        ABSENT = "absent", _("缺席")
        EXCUSED = "excused", _("请假")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, blank=True, default="")

    class Meta:
        ordering = ["meeting", "id"]
        constraints = [models.UniqueConstraint(fields=["meeting", "person"], name="attendance_once")]


class Objection(models.Model):
    """异议 — lodged during the resolution notice; it stands until the owning body answers or dismisses it."""

    class Status(TextChoices):
        OPEN = "open", _("待答复")
        ANSWERED = "answered", _("已答复")
        DISMISSED = "dismissed", _("不予受理")

    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="objections")
    stage = models.ForeignKey(StageDefinition, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("registry.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reasons = models.TextField(_("异议理由"))
    channel = models.CharField(max_length=10, choices=Channel.choices)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    answer = models.TextField(_("答复"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["matter", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["matter", "idempotency_key"], condition=~Q(idempotency_key=""), name="objection_idempotency_key"
            )
        ]
        indexes = [models.Index(fields=["matter", "status"], name="objection_status_idx")]

    @property
    def reference(self) -> str:
        return f"YY{self.pk:07d}"


class Report(models.Model):
    """实施 — a progress report, or the acceptance (验收) of the work."""

    class Kind(TextChoices):
        PROGRESS = "progress", _("进度报告")
        ACCEPTANCE = "acceptance", _("验收")

    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="reports")
    stage = models.ForeignKey(StageDefinition, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    text = models.TextField(_("内容"))
    percent = models.PositiveSmallIntegerField(_("完成比例"), null=True, blank=True)
    attachments = models.ManyToManyField("core.Upload", blank=True, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["matter", "id"]


class AccountLine(models.Model):
    """收支 — one line of the matter's accounts, in yuan (Decimal, exact)."""

    class Direction(TextChoices):
        INCOME = "income", _("收入")
        EXPENSE = "expense", _("支出")

    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="accounts")
    direction = models.CharField(_("收支"), max_length=8, choices=Direction.choices)
    item = models.CharField(_("项目"), max_length=200)
    amount = models.DecimalField(_("金额（元）"), max_digits=14, decimal_places=2)
    source = models.CharField(_("来源/去向"), max_length=100, blank=True)
    on = models.DateField(_("日期"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["matter", "on", "id"]
