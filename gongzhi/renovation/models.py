"""老旧小区改造 — the renovation menu (菜单), households' orders (点单), projects and their works.

- `MenuCategory`: the national three classes (基础类 / 完善类 / 提升类) seeded with no district; a district adds its
  own (Chengdu's 安全类) as rows of its own.
- `MenuItem`: what an item covers (compound, building, entrance or unit), what it costs and on which basis, who
  pays which part, the per-household cap, its dependencies and its consent rule (a district threshold, or a Civil
  Code Art. 278 matter routed to an owners' vote of that scope).
- `Project` over a registry `UnitSet`; `Order` one per household (unit) per item; `PlanLine` the tally of one item
  in one scope when the plan was adopted (passed or not, with its figures); `WorkItem` / `ProgressEntry` /
  `Milestone`; `Inspection`, `Defect` (nothing deleted), `AcceptanceSign`.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from gongzhi.core.choices import TextChoices
from gongzhi.voting.models import MATTER_CHOICES


class Coverage(TextChoices):
    COMPOUND = "compound", _("楼院")
    BUILDING = "building", _("楼栋")
    ENTRANCE = "entrance", _("单元")
    UNIT = "unit", _("户")


class CostBasis(TextChoices):
    LUMP_SUM = "lump_sum", _("每处一次")  # per scope: a lift per entrance, a roof per building
    PER_HOUSEHOLD = "per_household", _("每户")
    PER_M2 = "per_m2", _("每平方米建筑面积")


class ShareBasis(TextChoices):
    HOUSEHOLD = "household", _("按户均摊")
    AREA = "area", _("按面积")
    FLOOR_AREA = "floor_area", _("按楼层系数×面积")


class MenuCategory(models.Model):
    """改造内容类别 — 基础类 / 完善类 / 提升类 (national, district NULL) or a district's own (成都: 安全类)."""

    district = models.ForeignKey("registry.AreaNode", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    code = models.SlugField()
    name = models.CharField(_("名称"), max_length=30)
    name_en = models.CharField(max_length=60)
    description = models.TextField(_("说明"), blank=True)
    pace = models.CharField(_("推进要求"), max_length=60, blank=True)  # 成都: 应改尽改 / 能改则改 / 积极推进
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["code"], condition=Q(district__isnull=True), name="uniq_national_category"),
            models.UniqueConstraint(fields=["district", "code"], name="uniq_district_category"),
        ]

    @property
    def label(self) -> str:
        """The name in the page's language (the English name is stored with it)."""
        return self.name_en if self.name_en and (get_language() or "").startswith("en") else self.name

    def __str__(self) -> str:
        return self.name


class MenuItem(models.Model):
    """改造菜单项 — one thing a compound may order, with its cost, funding split and consent rule."""

    class Consent(TextChoices):
        THRESHOLD = "threshold", _("达到规定的同意比例")
        OWNERS_VOTE = "owners_vote", _("业主共同决定（民法典第二百七十八条）")

    district = models.ForeignKey("registry.AreaNode", on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=255, db_index=True, editable=False)  # district.path, for scope checks
    category = models.ForeignKey(MenuCategory, on_delete=models.PROTECT, related_name="items")
    code = models.SlugField(_("编码"))
    name = models.CharField(_("名称"), max_length=100)
    description = models.TextField(_("说明"), blank=True)
    coverage = models.CharField(_("改造范围"), max_length=10, choices=Coverage.choices)
    unit_cost = models.DecimalField(_("单价（元）"), max_digits=12, decimal_places=2)
    cost_basis = models.CharField(_("计价方式"), max_length=15, choices=CostBasis.choices)
    share_basis = models.CharField(_("居民分摊方式"), max_length=12, choices=ShareBasis.choices)
    floor_coefficients = models.JSONField(_("楼层系数"), default=dict, blank=True)  # {"3": "0.7", ...}
    # Funding split in percent, adding up to 100 (validated by the action).
    pct_subsidy = models.DecimalField(_("政府补助%"), max_digits=5, decimal_places=2, default=0)
    pct_residents = models.DecimalField(_("居民出资%"), max_digits=5, decimal_places=2, default=0)
    pct_units = models.DecimalField(_("产权/驻区单位%"), max_digits=5, decimal_places=2, default=0)
    pct_fund = models.DecimalField(_("维修资金%"), max_digits=5, decimal_places=2, default=0)
    pct_public_income = models.DecimalField(_("小区公共收益%"), max_digits=5, decimal_places=2, default=0)
    household_cap = models.DecimalField(_("每户上限（元）"), max_digits=12, decimal_places=2, null=True, blank=True)
    depends_on = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="required_by")
    consent = models.CharField(_("同意规则"), max_length=12, choices=Consent.choices, default=Consent.THRESHOLD)
    consent_numerator = models.PositiveSmallIntegerField(default=4)
    consent_denominator = models.PositiveSmallIntegerField(default=5)
    consent_inclusive = models.BooleanField(default=True)  # "以上" (≥); False: strictly more than
    matter = models.CharField(_("法定事项"), max_length=20, choices=MATTER_CHOICES, blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category__order", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["district", "code"], name="uniq_menu_item_code")]

    def __str__(self) -> str:
        return self.name

    @property
    def pct_fields(self) -> dict[str, object]:
        return {f: getattr(self, f) for f in FUNDING_PCT_FIELDS}


FUNDING_PCT_FIELDS = ("pct_subsidy", "pct_residents", "pct_units", "pct_fund", "pct_public_income")


class Project(models.Model):
    """改造项目 — over a set of units (a 片区 of several 楼院, one 楼院, a building)."""

    class Stage(TextChoices):
        ORDERING = "ordering", _("征求意见与点单")
        WORKS = "works", _("施工中")
        ACCEPTED = "accepted", _("已验收")

    name = models.CharField(_("项目名称"), max_length=150)
    unit_set = models.ForeignKey("registry.UnitSet", on_delete=models.PROTECT, related_name="+")
    scope = models.ForeignKey("registry.AreaNode", on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=255, db_index=True, editable=False)  # scope.path
    district = models.ForeignKey("registry.AreaNode", on_delete=models.PROTECT, related_name="+")
    menu = models.ManyToManyField(MenuItem, blank=True, related_name="projects")  # the items offered here
    stage = models.CharField(_("阶段"), max_length=10, choices=Stage.choices, default=Stage.ORDERING)
    budget = models.DecimalField(_("总预算（元）"), max_digits=14, decimal_places=2, default=0)
    contractor = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    supervisor = models.ForeignKey(  # 议事监督小组 (or a supervising unit)
        "organizations.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    party_branch = models.ForeignKey(  # 临时党支部
        "organizations.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    matter = models.ForeignKey(  # the 一征三议两公开 matter that decided it
        "deliberation.Matter", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    starts_on = models.DateField(_("计划开工"), null=True, blank=True)
    ends_on = models.DateField(_("计划完工"), null=True, blank=True)
    plan_adopted_at = models.DateTimeField(null=True, blank=True)
    works_started_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accounts_notice = models.ForeignKey(
        "notices.Notice", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def ref(self) -> str:
        return f"renovation.project:{self.pk}"


class Funding(models.Model):
    """资金来源 — one source of a project's money."""

    class Source(TextChoices):
        SUBSIDY = "subsidy", _("政府补助")
        RESIDENTS = "residents", _("居民出资")
        UNITS = "units", _("产权/驻区单位")
        FUND = "fund", _("住宅专项维修资金")
        PUBLIC_INCOME = "public_income", _("小区公共收益")
        OTHER = "other", _("其他")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="funding")
    source = models.CharField(_("来源"), max_length=15, choices=Source.choices)
    amount = models.DecimalField(_("金额（元）"), max_digits=14, decimal_places=2)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        ordering = ["id"]


class Order(models.Model):
    """点单 — one household's answer on one menu item of a project (changed in place until the plan is adopted)."""

    class Channel(TextChoices):
        ONLINE = "online", _("网上")
        DOOR = "door", _("入户")
        HOTLINE = "hotline", _("热线")

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="orders")
    unit = models.ForeignKey("registry.Unit", on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(MenuItem, on_delete=models.PROTECT, related_name="orders")
    agrees = models.BooleanField(_("同意"))
    willing_to_pay = models.BooleanField(_("愿意出资"), default=False)
    seen_share = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)  # bill shown
    channel = models.CharField(_("渠道"), max_length=8, choices=Channel.choices)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    on_behalf_of = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "unit", "item"], name="one_order_per_household_item")]
        indexes = [models.Index(fields=["project", "item"], name="order_project_item_idx")]


class PlanLine(models.Model):
    """The tally of one item in one scope when the plan was adopted: passed or not, with its exact figures."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="plan_lines")
    item = models.ForeignKey(MenuItem, on_delete=models.PROTECT, related_name="+")
    scope_key = models.CharField(max_length=40)  # "node:12" or "unit:345"
    scope_label = models.CharField(max_length=150)
    passed = models.BooleanField()
    households = models.PositiveIntegerField()
    agreeing = models.PositiveIntegerField()
    area = models.DecimalField(max_digits=14, decimal_places=2)
    agreeing_area = models.DecimalField(max_digits=14, decimal_places=2)
    rule = models.CharField(max_length=200)  # in Chinese, as adopted: VOTE_RULE_ZH or "同意户数 ≥ 4/5"
    cost = models.DecimalField(max_digits=14, decimal_places=2)
    residents_amount = models.DecimalField(max_digits=14, decimal_places=2)
    vote_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["item__category__order", "item__order", "item_id", "scope_label"]
        constraints = [models.UniqueConstraint(fields=["project", "item", "scope_key"], name="one_plan_line")]

    @property
    def rule_label(self) -> str:
        """The stored rule in the page's language (the households' fraction reads the same in both)."""
        if self.rule == VOTE_RULE_ZH:
            return str(_("业主表决（民法典第二百七十八条）"))
        if self.rule.startswith(HOUSEHOLD_RULE_ZH + " "):
            return _("同意户数 %(rule)s") % {"rule": self.rule[len(HOUSEHOLD_RULE_ZH) + 1 :]}
        return self.rule


# How an adopted plan line keeps its rule (PlanLine.rule): the Chinese of the record, read back by rule_label.
VOTE_RULE_ZH = "业主表决（民法典第二百七十八条）"
HOUSEHOLD_RULE_ZH = "同意户数"


class OwnersVote(models.Model):
    """An Art. 278 item of a project routed to an owners' vote of its scope (the entrance for a lift)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="owners_votes")
    item = models.ForeignKey(MenuItem, on_delete=models.PROTECT, related_name="+")
    scope_key = models.CharField(max_length=40)
    vote = models.ForeignKey("voting.Vote", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "item", "scope_key"], name="one_owners_vote")]


class WorkItem(models.Model):
    """施工内容 — a piece of the works, weighted by its budget in the project's progress."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="work_items")
    external_id = models.CharField(_("外部编号"), max_length=50)
    name = models.CharField(_("名称"), max_length=150)
    item = models.ForeignKey(MenuItem, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey("registry.AreaNode", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    budget = models.DecimalField(_("预算（元）"), max_digits=14, decimal_places=2)
    progress = models.PositiveSmallIntegerField(_("进度%"), default=0)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "external_id"], name="uniq_work_item_external_id"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="work_item_progress_le_100"),
        ]

    def __str__(self) -> str:
        return self.name


class ProgressEntry(models.Model):
    """One dated progress report on a work item (percent complete, with photo and document)."""

    work_item = models.ForeignKey(WorkItem, on_delete=models.PROTECT, related_name="entries")
    on = models.DateField(_("日期"))
    progress = models.PositiveSmallIntegerField(_("进度%"))
    note = models.CharField(_("说明"), max_length=300, blank=True)
    photo = models.ForeignKey("core.Upload", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    document = models.ForeignKey("core.Upload", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-on", "-id"]

    @property
    def gate_path(self) -> str:
        return self.work_item.project.path


class Milestone(models.Model):
    """A dated milestone; hidden from the public until its publication date (CONSUL)."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="milestones")
    title = models.CharField(_("标题"), max_length=150)
    description = models.TextField(_("说明"), blank=True)
    on = models.DateField(_("日期"))
    publication_date = models.DateField(_("公开日期"))
    photo = models.ForeignKey("core.Upload", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["on", "id"]


class Inspection(models.Model):
    """质量/安全检查 with its checklist [{"item": str, "ok": bool, "note": str}]."""

    class Kind(TextChoices):
        QUALITY = "quality", _("质量检查")
        SAFETY = "safety", _("安全检查")

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="inspections")
    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices)
    on = models.DateField(_("日期"))
    checklist = models.JSONField(default=list)
    summary = models.CharField(_("结论"), max_length=300, blank=True)
    photo = models.ForeignKey("core.Upload", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-on", "-id"]


class Plan(models.Model):
    """平面图 — a floor or site plan of a project on which defects are placed (baupen). Not the renovation plan
    (改造计划, `PlanLine`): a picture of a building, a floor or the compound.

    The image is a private `core.Upload` (re-encoded on upload, served by a permission-checked view); its pixel
    size is kept so a click on the picture (`<input type="image">`, in the picture's own pixels) becomes percents.
    """

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="plans")
    title = models.CharField(_("标题"), max_length=100)
    building = models.ForeignKey("registry.AreaNode", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    floor = models.SmallIntegerField(_("楼层"), null=True, blank=True)  # negative: basement
    image = models.ForeignKey("core.Upload", on_delete=models.PROTECT, related_name="+")
    width = models.PositiveIntegerField()  # pixels of the stored image
    height = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(width__gt=0, height__gt=0), name="plan_has_a_size")]

    def __str__(self) -> str:
        return self.title

    @property
    def label(self) -> str:
        """The title with the building and floor, as a list or a choice shows it."""
        parts = [self.title]
        if self.building_id:
            parts.append(self.building.name)
        if self.floor is not None:
            parts.append(str(_("%(f)s层") % {"f": self.floor}))
        return " · ".join(parts)


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Defect(models.Model):
    """质量问题 — created → registered → resolved (by the contractor) → closed (by the supervisor). Never deleted."""

    class Status(TextChoices):
        REGISTERED = "registered", _("已登记")
        RESOLVED = "resolved", _("施工单位已整改")
        CLOSED = "closed", _("已销项")

    class Source(TextChoices):
        INSPECTOR = "inspector", _("检查人员")
        SUPERVISION = "supervision", _("议事监督小组")
        RESIDENT = "resident", _("居民")
        SERVICEDESK = "servicedesk", _("服务台")

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="defects")
    work_item = models.ForeignKey(WorkItem, null=True, blank=True, on_delete=models.PROTECT, related_name="defects")
    source = models.CharField(_("来源"), max_length=12, choices=Source.choices)
    description = models.CharField(_("问题描述"), max_length=500)
    location = models.ForeignKey("registry.AreaNode", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    spot = models.CharField(_("具体位置"), max_length=150, blank=True)
    floor = models.SmallIntegerField(_("楼层"), null=True, blank=True)  # negative: basement
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="defects")
    plan_x = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)  # 0..100 % on the plan
    plan_y = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    photo_before = models.ForeignKey("core.Upload", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    photo_after = models.ForeignKey("core.Upload", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    deadline = models.DateField(_("整改期限"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REGISTERED)
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    reporter = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_note = models.CharField(_("整改说明"), max_length=500, blank=True)
    resolved_by_label = models.CharField(max_length=100, blank=True)  # the contractor's name (token, no account)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-registered_at", "-id"]
        indexes = [models.Index(fields=["project", "status"], name="defect_project_status_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(closed_at__isnull=True) | Q(status="closed"), name="defect_closed_pair"),
        ]

    @property
    def plan_position(self) -> str:
        """Where on the plan, as the page shows it: "12.50%, 40.00%" from the left and top edges ("" unmarked)."""
        if self.plan_x is None or self.plan_y is None:
            return ""
        return f"{self.plan_x}%, {self.plan_y}%"

    @property
    def plan_marks(self) -> list[dict]:
        """The one marker of this defect's spot (templates draw markers from such lists)."""
        if self.plan_x is None or self.plan_y is None:
            return []
        return [{"n": "", "x": self.plan_x, "y": self.plan_y}]

    def is_overdue(self, today=None) -> bool:
        """baupen: the deadline passed and not resolved, or resolved after the deadline."""
        today = today or timezone.localdate()
        if self.resolved_at is not None:
            return timezone.localdate(self.resolved_at) > self.deadline
        return today > self.deadline


class AcceptanceSign(models.Model):
    """验收签字 — one work item's checklist signed by the supervision group or the street office."""

    class Signer(TextChoices):
        SUPERVISION = "supervision", _("议事监督小组")
        STREET_OFFICE = "street_office", _("街道办事处")

    work_item = models.ForeignKey(WorkItem, on_delete=models.PROTECT, related_name="signatures")
    signer = models.CharField(max_length=15, choices=Signer.choices)
    checklist = models.JSONField(default=list)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["work_item", "signer"], name="one_signature_per_signer")]

    @property
    def gate_path(self) -> str:
        return self.work_item.project.path
