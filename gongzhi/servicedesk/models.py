"""Service desk: the district's catalogue (派单目录), work orders, objections, escalations, follow-up calls and the
Open311 clients. States and time-limit arithmetic live in `machine.py`; every write goes through `actions.py`.

Coordinates are stored in WGS-84 (gongzhi.core.geo.STORAGE_DATUM), as Open311 carries them.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from gongzhi.core.choices import TextChoices
from gongzhi.servicedesk.machine import LimitUnit, State


class Category(models.Model):
    """派单目录的一项 — a kind of request, its responsible body, its time limits and the questions it asks.

    `code` is the Open311 service_code. The catalogue belongs to a node (the district by default): its `path`
    decides who may edit it.
    """

    class LimitUnitChoice(TextChoices):
        HOURS = LimitUnit.HOURS.value, _("小时")
        WORKDAYS = LimitUnit.WORKDAYS.value, _("工作日")
        DAYS = LimitUnit.DAYS.value, _("自然日")

    code = models.SlugField(_("编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    name_en = models.CharField(_("英文名称"), max_length=80, blank=True)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    group = models.CharField(_("分组"), max_length=40, blank=True)
    keywords = models.CharField(_("关键词"), max_length=200, blank=True)
    node = models.ForeignKey("registry.AreaNode", on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=255, db_index=True, editable=False)
    responsible = models.ForeignKey(
        "organizations.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("责任单位"),
    )
    responsible_label = models.CharField(_("责任单位名称"), max_length=100, blank=True)
    limit_value = models.PositiveIntegerField(_("办理时限"))
    limit_unit = models.CharField(_("时限单位"), max_length=10, choices=LimitUnitChoice.choices)
    response_hours = models.PositiveIntegerField(_("响应时限（小时）"), default=24)
    active = models.BooleanField(_("启用"), default=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "code"]
        constraints = [models.CheckConstraint(condition=Q(limit_value__gte=1), name="sd_category_limit_positive")]

    @property
    def label(self) -> str:
        """The name in the page's language (the English name is stored with it)."""
        return self.name_en if self.name_en and (get_language() or "").startswith("en") else self.name

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.path = self.node.path
        super().save(*args, **kwargs)

    @property
    def body_name(self) -> str:
        return self.responsible.name if self.responsible_id else self.responsible_label

    @property
    def limit_text(self) -> str:
        """ "3工作日" in Chinese, "3 working days" in English."""
        unit = str(self.get_limit_unit_display())
        if (get_language() or "zh").startswith("zh"):
            return f"{self.limit_value}{unit}"
        return f"{self.limit_value} {unit.lower()}"


class Question(models.Model):
    """A question a category asks (an Open311 attribute)."""

    class Datatype(TextChoices):
        STRING = "string", _("短文本")
        NUMBER = "number", _("数字")
        DATETIME = "datetime", _("日期时间")
        TEXT = "text", _("长文本")
        SINGLE = "singlevaluelist", _("单选")
        MULTI = "multivaluelist", _("多选")

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="questions")
    code = models.SlugField(_("编码"), max_length=40)
    label = models.CharField(_("问题"), max_length=200)
    label_en = models.CharField(_("英文问题"), max_length=200, blank=True)
    datatype = models.CharField(_("类型"), max_length=16, choices=Datatype.choices, default=Datatype.STRING)
    required = models.BooleanField(_("必答"), default=False)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    values = models.JSONField(_("选项"), default=list, blank=True)  # [{"key": "...", "name": "..."}]
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["category", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["category", "code"], name="sd_question_code_unique")]

    def __str__(self) -> str:
        return self.label


STATE_CHOICES = [
    (State.ACCEPTED.value, _("受理")),
    (State.DISPATCHED.value, _("已派单")),
    (State.TAKEN.value, _("已接单")),
    (State.IN_PROGRESS.value, _("办理中")),
    (State.COMPLETED.value, _("已办结")),
    (State.FOLLOWED_UP.value, _("已回访")),
    (State.RATED.value, _("已评价")),
    (State.ARCHIVED.value, _("已归档")),
    (State.MERGED.value, _("已合并")),
]


class ServiceRequest(models.Model):
    """工单 — one resident request, from 受理 to 归档.

    The requester's name and phone are personal data: shown masked except to those who must call back
    (`servicedesk.view_requester`), never in public output. `path` is the location's node path (a unit's
    building or the compound) for scope checks; `compound` is what the public sees of the place.
    """

    class Channel(TextChoices):
        WEB = "web", _("居民网上")
        HOTLINE = "hotline", _("热线")
        DOOR = "door", _("上门走访")
        OPEN311 = "open311", _("Open311")
        BULKY = "bulky", _("大件垃圾举报")
        RENOVATION = "renovation", _("改造质量问题")

    class Satisfaction(TextChoices):
        SATISFIED = "satisfied", _("满意")
        BASIC = "basic", _("基本满意")
        UNSATISFIED = "unsatisfied", _("不满意")

    class TakerKind(TextChoices):
        DEPARTMENT = "department", _("职能部门")
        PARTY_MEMBER = "party_member", _("党员/联络员")
        VOLUNTEER = "volunteer", _("志愿者")
        RESIDENT_UNIT = "resident_unit", _("驻区单位")
        COMMUNITY = "community", _("社区")
        PROPERTY = "property", _("物业")

    reference = models.CharField(max_length=20, unique=True)
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # Open311 tokens/{token}
    rating_key = models.CharField(max_length=64, default=secrets.token_urlsafe, unique=True, editable=False)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="requests")
    status = models.CharField(_("状态"), max_length=12, choices=STATE_CHOICES)
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    description = models.TextField(_("诉求内容"), max_length=4000)
    answers = models.JSONField(default=dict, blank=True)
    # Where: a node (compound, building or entrance) or a unit, or a point; the compound for the public.
    node = models.ForeignKey("registry.AreaNode", on_delete=models.PROTECT, related_name="+")
    compound = models.ForeignKey("registry.AreaNode", null=True, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("registry.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=255, db_index=True)
    address_string = models.CharField(_("地址"), max_length=200, blank=True)
    latitude = models.DecimalField(_("纬度(WGS-84)"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("经度(WGS-84)"), max_digits=9, decimal_places=6, null=True, blank=True)
    media_url = models.URLField(max_length=500, blank=True)
    # Who asked (personal) and who entered it.
    requester_person = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requester_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requester_name = models.CharField(_("诉求人"), max_length=100, blank=True)
    requester_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # handed over by another part: "bulkywaste:JB-…", "renovation.defect:42"
    source = models.CharField(max_length=60, blank=True, db_index=True)
    open311_client = models.ForeignKey(
        "servicedesk.Open311Client", null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )
    # Who takes it.
    assignee = models.ForeignKey(  # dispatched to this person (None: to the organisation, or open to takers)
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee_org = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    taker = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    taker_kind = models.CharField(_("接单方"), max_length=16, choices=TakerKind.choices, blank=True)
    objection_pending = models.BooleanField(default=False)
    # Times and limits.
    accepted_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)
    response_due_at = models.DateTimeField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    contacted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    extension_reason = models.CharField(_("延期理由"), max_length=300, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(_("办理结果"), max_length=1000, blank=True)
    followed_up_at = models.DateTimeField(null=True, blank=True)
    solved = models.BooleanField(null=True, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    satisfaction = models.CharField(_("评价"), max_length=12, choices=Satisfaction.choices, blank=True)
    rating_comment = models.CharField(_("评价意见"), max_length=500, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    rework_count = models.PositiveSmallIntegerField(default=0)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_to = models.ForeignKey(
        "registry.AreaNode", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-accepted_at", "-id"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="sd_request_status_due"),
            models.Index(fields=["path", "accepted_at"], name="sd_request_path_time"),
            models.Index(fields=["category", "accepted_at"], name="sd_request_cat_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(duplicate_of__isnull=True) | Q(status=State.MERGED.value), name="sd_merged_has_original"
            ),
            models.CheckConstraint(condition=Q(rework_count__lte=20), name="sd_rework_bounded"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def state(self) -> State:
        return State(self.status)

    @property
    def is_late(self) -> bool:
        if self.due_at is None:
            return False
        end = self.completed_at or timezone.now()
        return end > self.due_at

    @property
    def place(self) -> str:
        """The place as the public may see it: the compound (or the node), never the unit."""
        return (self.compound or self.node).name


class Photo(models.Model):
    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="photos")
    upload = models.ForeignKey("core.Upload", on_delete=models.PROTECT, related_name="+")
    stage = models.CharField(max_length=10, default="report")  # report / done


EVENT_LABELS = {
    "accept": _("受理"), "dispatch": _("派单"), "object": _("派单异议"), "uphold_objection": _("异议成立，重新派单"),
    "reject_objection": _("异议不成立"), "take": _("接单"), "contact": _("联系诉求人"), "start": _("开始办理"),
    "extend": _("延期"), "complete": _("办结"), "follow_up": _("回访"), "follow_up_rated": _("回访"), "rate": _("评价"), "return": _("退回重办"),
    "archive": _("归档"), "escalate": _("催办/督办"), "merge": _("合并重复件"), "linked": _("关联事项进展"),
}  # fmt: skip
# What a linked record of another part reports onto the timeline (Event kind "linked", params {"step": …}).
LINKED_STEPS = {
    "resolved": _("改造项目：施工单位已报整改"),
    "closed": _("改造项目：监督方已销项"),
    "fix_rejected": _("改造项目：整改被退回"),
}
ESCALATION_LABELS = {1: _("催办"), 2: _("督办"), 3: _("区级督办")}  # machine.ESCALATION_LABELS, translated


def _when(value: str) -> str:
    """An ISO moment stored in an event, as the page's language writes it."""
    moment = parse_datetime(value or "")
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT") if moment else (value or "")


def event_text(kind: str, p: dict) -> str:
    """One timeline line's details, rendered at display time (see Event.params); "" when nothing is known."""
    note = p.get("note") or ""
    if kind == "accept" and p.get("channel") in ServiceRequest.Channel.values:
        return _("%(channel)s受理") % {"channel": ServiceRequest.Channel(p["channel"]).label}
    if kind == "dispatch":
        to = p.get("to") or _("社区党员、志愿者接单")
        return _("派至%(to)s；办理时限%(due)s") % {"to": to, "due": _when(p.get("due"))}
    if kind == "take" and p.get("taker_kind") in ServiceRequest.TakerKind.values:
        return str(ServiceRequest.TakerKind(p["taker_kind"]).label)
    if kind == "extend":
        return _("延期至%(due)s：%(reason)s") % {"due": _when(p.get("due")), "reason": p.get("reason", "")}
    if kind == "follow_up":
        if p.get("unreached"):
            return str(_("多次回访未接通"))
        return str(_("已解决") if p.get("solved") else _("未解决"))
    if kind == "rate" and p.get("satisfaction") in ServiceRequest.Satisfaction.values:
        return str(ServiceRequest.Satisfaction(p["satisfaction"]).label)
    if kind == "escalate":
        line = _("%(level)s（%(to)s）") % {"level": ESCALATION_LABELS.get(p.get("level"), ""), "to": p.get("to", "")}
        if p.get("auto"):
            note = _("到期自动")
        return f"{line} {note}" if note else line
    if kind == "linked" and p.get("step") in LINKED_STEPS:
        return str(LINKED_STEPS[p["step"]])
    if kind == "merge":
        line = _("并入%(reference)s") % {"reference": p.get("into", "")}
        return f"{line} {note}" if note else line
    return ""


class Event(models.Model):
    """One line of an order's timeline (public unless `internal`): the Open311 `notes` and the board read it."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=20)  # a transition name, or "accept"
    state = models.CharField(max_length=12)  # the state after it
    # What the platform says is kept as data in `params` (codes, names, moments) and read in the reader's
    # language (`text`); `note` is what a person typed (a reason, a resolution) — or, on rows written before
    # `params` existed and not read back by migration 0002, the Chinese sentence as written.
    note = models.CharField(max_length=500, blank=True)
    params = models.JSONField(default=dict, blank=True)
    internal = models.BooleanField(default=False)
    actor_label = models.CharField(max_length=100, blank=True)  # SYSTEM when no person acted

    SYSTEM = "系统"

    class Meta:
        ordering = ["at", "id"]

    @property
    def label(self) -> str:
        return str(EVENT_LABELS.get(self.kind, self.kind))

    @property
    def actor_text(self) -> str:
        return str(_("系统")) if self.actor_label in (self.SYSTEM, "") else self.actor_label

    @property
    def text(self) -> str:
        """The line's details in the page's language."""
        return (event_text(self.kind, self.params) if self.params else "") or self.note


class Objection(models.Model):
    """派单异议 — the taker says the order is not theirs; the dispatcher decides."""

    class Decision(TextChoices):
        UPHELD = "upheld", _("异议成立")
        REJECTED = "rejected", _("异议不成立")

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="objections")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("异议理由"), max_length=500)
    raised_at = models.DateTimeField()
    decision = models.CharField(_("裁定"), max_length=10, choices=Decision.choices, blank=True)
    decision_note = models.CharField(_("裁定说明"), max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # At most one undecided objection per order.
            models.UniqueConstraint(fields=["request"], condition=Q(decision=""), name="sd_one_open_objection")
        ]


class Escalation(models.Model):
    """催办 (level 1, the community) / 督办 (level 2, the street; level 3, the district)."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="escalations")
    level = models.PositiveSmallIntegerField()
    to_node = models.ForeignKey("registry.AreaNode", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["request", "level"], name="sd_one_escalation_per_level")]


class FollowUpCall(models.Model):
    """回访 — a task for the operators once an order is completed; the result is recorded on it."""

    class Outcome(TextChoices):
        REACHED = "reached", _("已接通")
        NO_ANSWER = "no_answer", _("无人接听")
        REFUSED = "refused", _("拒绝回访")

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="calls")
    due_on = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    note = models.CharField(_("回访记录"), max_length=500, blank=True)
    path = models.CharField(max_length=255, db_index=True)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request"], condition=Q(done_at__isnull=True), name="sd_one_open_call")
        ]


class Open311Client(models.Model):
    """An Open311 client allowed to POST requests. Only a keyed hash of its key is kept."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    key_prefix = models.CharField(max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    active = models.BooleanField(_("启用"), default=True)
    per_minute = models.PositiveIntegerField(_("每分钟请求上限"), default=30)
    node = models.ForeignKey("registry.AreaNode", on_delete=models.PROTECT, related_name="+")  # where it may file
    path = models.CharField(max_length=255, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.path = self.node.path
        super().save(*args, **kwargs)
