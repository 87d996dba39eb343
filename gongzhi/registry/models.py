"""The registry: the area tree down to units, people and legal persons, ownership and residence."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from gongzhi.core import crypto, pii
from gongzhi.core.choices import TextChoices


class AreaLevel(models.Model):
    """A level of the area tree, configured per district (Erqi: 区 → 街道 → 社区 → 小区 → 楼院 → 楼栋 → 单元)."""

    code = models.SlugField(unique=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(max_length=50)
    depth = models.PositiveSmallIntegerField(unique=True)
    # The level whose nodes are managed as one compound (Erqi: the 楼院) and carry compound facts.
    is_compound = models.BooleanField(default=False)

    class Meta:
        ordering = ["depth"]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """The level's name in the page's language (the English name is stored with it)."""
        return self.name_en if self.name_en and (get_language() or "").startswith("en") else self.name


class AreaNode(models.Model):
    """One node of the area tree: a district, subdistrict, community, estate, courtyard, building or entrance.

    `path` is the materialised path of ids ("/1/5/27/"), so "everything under X" is one indexed prefix match.
    Counts are kept on the node (refreshed by registry actions), so pages never count millions of rows.
    `liaison_household_count` counts the households (units with a current resident) that have a current party
    liaison; the coverage report shows `household_count - liaison_household_count` as "households without one".
    """

    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    level = models.ForeignKey(AreaLevel, on_delete=models.PROTECT, related_name="nodes")
    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(_("编码"), max_length=50, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    path = models.CharField(max_length=255, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(editable=False, default=0)
    unit_count = models.PositiveIntegerField(default=0)
    household_count = models.PositiveIntegerField(default=0)
    liaison_household_count = models.PositiveIntegerField(default=0)
    resident_count = models.PositiveIntegerField(default=0)
    aged_60_count = models.PositiveIntegerField(default=0)
    aged_80_count = models.PositiveIntegerField(default=0)
    compound_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="uniq_node_name_in_parent"),
        ]
        indexes = [models.Index(fields=["parent", "name"], name="node_parent_name_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def ids_on_path(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/") if p]

    def contains(self, other_path: str) -> bool:
        return other_path.startswith(self.path)

    @property
    def share_60(self) -> Decimal | None:
        return Decimal(self.aged_60_count) / self.resident_count if self.resident_count else None

    @property
    def share_80(self) -> Decimal | None:
        return Decimal(self.aged_80_count) / self.resident_count if self.resident_count else None


class CompoundProfile(models.Model):
    """小区/楼院 facts: year built, who manages it, whether fees are collected, where it is (WGS-84)."""

    class Management(TextChoices):
        UNMANAGED = "unmanaged", _("无主管")
        PROPERTY_COMPANY = "property_company", _("物业公司管理")
        SELF_MANAGED = "self_managed", _("居民自治管理")
        COMMUNITY = "community", _("社区代管")
        WORK_UNIT = "work_unit", _("产权单位管理")

    node = models.OneToOneField(AreaNode, on_delete=models.CASCADE, related_name="profile")
    year_built = models.PositiveSmallIntegerField(_("建成年份"), null=True, blank=True)
    management = models.CharField(_("管理状态"), max_length=20, choices=Management.choices)
    fees_collected = models.BooleanField(_("收取物业费"), default=False)
    latitude = models.DecimalField(_("纬度(WGS-84)"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("经度(WGS-84)"), max_digits=9, decimal_places=6, null=True, blank=True)
    notes = models.TextField(_("备注"), blank=True)

    def age_years(self, today: date) -> int | None:
        return today.year - self.year_built if self.year_built else None


class Person(models.Model):
    """A natural person or a legal person (a work unit, 产权单位, or the developer)."""

    class Kind(TextChoices):
        NATURAL = "natural", _("自然人")
        LEGAL = "legal", _("法人/单位")

    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, default=Kind.NATURAL)
    name = models.CharField(_("姓名/名称"), max_length=100)
    phone = models.CharField(_("电话"), max_length=20, blank=True, db_index=True)
    id_number_enc = models.TextField(blank=True, editable=False)
    id_number_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    is_developer = models.BooleanField(_("开发建设单位"), default=False)
    # Where the person is managed from (their home unit's path), for scope checks on people lists.
    home_path = models.CharField(max_length=255, blank=True, db_index=True)
    sensitive_flags = models.JSONField(_("敏感标记"), default=dict, blank=True)  # health, disability, low income
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_hash"], condition=~Q(id_number_hash=""), name="uniq_person_id_number"
            )
        ]

    def __str__(self) -> str:
        return pii.mask_name(self.name) if self.kind == self.Kind.NATURAL else self.name

    ID_CONTEXT = "person.id_number"

    def set_id_number(self, value: str) -> None:
        normalized = pii.normalize_resident_id(value)
        self.id_number_enc = crypto.encrypt(normalized, context=self.ID_CONTEXT)
        self.id_number_hash = crypto.lookup_hash(normalized, context=self.ID_CONTEXT)
        if not self.birth_date:
            self.birth_date = pii.birth_date_from_id(normalized)

    def get_id_number(self) -> str:
        return crypto.decrypt(self.id_number_enc, context=self.ID_CONTEXT) if self.id_number_enc else ""

    @classmethod
    def id_lookup(cls, value: str) -> str:
        return crypto.lookup_hash(pii.normalize_resident_id(value), context=cls.ID_CONTEXT)


class Unit(models.Model):
    """专有部分/户 — one exclusive unit (a flat, a shop) with its areas from the three sources."""

    class Usage(TextChoices):
        RESIDENTIAL = "residential", _("住宅")
        COMMERCIAL = "commercial", _("商业")
        OTHER = "other", _("其他")

    node = models.ForeignKey(AreaNode, on_delete=models.PROTECT, related_name="units")  # building or entrance
    compound = models.ForeignKey(AreaNode, on_delete=models.PROTECT, related_name="compound_units")
    path = models.CharField(max_length=255, db_index=True, editable=False)
    number = models.CharField(_("室号"), max_length=30)
    floor = models.SmallIntegerField(_("楼层"), null=True, blank=True)
    usage = models.CharField(_("用途"), max_length=12, choices=Usage.choices, default=Usage.RESIDENTIAL)
    area_registered = models.DecimalField(_("登记面积"), max_digits=10, decimal_places=2, null=True, blank=True)
    area_surveyed = models.DecimalField(_("测绘面积"), max_digits=10, decimal_places=2, null=True, blank=True)
    area_contract = models.DecimalField(_("合同面积"), max_digits=10, decimal_places=2, null=True, blank=True)
    resident_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["node", "number"], name="uniq_unit_number_in_node")]
        indexes = [models.Index(fields=["compound", "id"], name="unit_compound_idx")]

    def __str__(self) -> str:
        return self.number

    AREA_SOURCES = (("registered", _("不动产登记")), ("surveyed", _("测绘")), ("contract", _("合同")))

    def voting_area(self) -> tuple[Decimal | None, str]:
        """SPC interpretation Art. 8: the registered area, else the surveyed area, else the contract area."""
        for source, _label in self.AREA_SOURCES:
            value = getattr(self, f"area_{source}")
            if value is not None:
                return value, source
        return None, ""


class Ownership(models.Model):
    """A person's ownership of a unit; co-owners designate one voter, the developer's units are marked."""

    class DeveloperStatus(TextChoices):
        NONE = "", _("已交付业主")
        UNSOLD = "unsold", _("未出售")
        UNDELIVERED = "undelivered", _("已售未交付")

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="ownerships")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="ownerships")
    share = models.DecimalField(_("份额"), max_digits=5, decimal_places=4, null=True, blank=True)
    is_designated_voter = models.BooleanField(_("推选表决人"), default=False)
    developer_status = models.CharField(max_length=12, choices=DeveloperStatus.choices, blank=True, default="")
    since = models.DateField(null=True, blank=True)
    until = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "person"], condition=Q(until__isnull=True), name="uniq_current_owner"
            ),
            models.UniqueConstraint(
                fields=["unit"],
                condition=Q(until__isnull=True, is_designated_voter=True),
                name="one_designated_voter_per_unit",
            ),
        ]


class Residence(models.Model):
    """Who lives in a unit: owners, their family, tenants."""

    class Relation(TextChoices):
        OWNER = "owner", _("业主")
        FAMILY = "family", _("家庭成员")
        TENANT = "tenant", _("租户")
        OTHER = "other", _("其他")

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="residences")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="residences")
    relation = models.CharField(_("关系"), max_length=10, choices=Relation.choices)
    is_household_head = models.BooleanField(_("户主"), default=False)
    since = models.DateField(null=True, blank=True)
    until = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "person"], condition=Q(until__isnull=True), name="uniq_current_resident"
            )
        ]


class UnitSet(models.Model):
    """A named set of units — a 片区 of several 楼院 (路院同治), one 楼院, a building, an entrance, or any list.

    Projects, votes and surveys cover a UnitSet. It is defined by area nodes (everything under them) plus
    explicitly listed units; `freeze()` in actions copies the resolved units when a vote is called.
    """

    class Kind(TextChoices):
        PIANQU = "pianqu", _("片区")
        COMPOUND = "compound", _("楼院/小区")
        BUILDING = "building", _("楼栋")
        ENTRANCE = "entrance", _("单元")
        CUSTOM = "custom", _("自定义")

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    description = models.TextField(_("说明"), blank=True)
    scope = models.ForeignKey(AreaNode, on_delete=models.PROTECT, related_name="+")  # lowest node containing it all
    nodes = models.ManyToManyField(AreaNode, blank=True, related_name="unit_sets")
    units = models.ManyToManyField(Unit, blank=True, related_name="unit_sets")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    """花名册导入任务 — one roster import, or its dry run, run by the task worker (or inline for a small dry run).

    The uploaded bytes wait in the private stash (MEDIA_ROOT/roster-imports/<token>.bin) until the job has run. The report
    holds counts and, per problem, the row number, the column and the reason: never a cell's value.
    """

    class Status(TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("正在处理")
        DONE = "done", _("已完成")
        FAILED = "failed", _("未完成")

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    compound = models.ForeignKey(AreaNode, on_delete=models.PROTECT, related_name="import_jobs")
    scope_path = models.CharField(max_length=255, db_index=True)  # the compound's path, for scope checks
    token = models.CharField(max_length=64)  # names the stashed upload
    filename = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    dry_run = models.BooleanField()
    skip_bad_rows = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    report = models.JSONField(null=True, blank=True)
    message = models.CharField(max_length=300, blank=True)  # why it did not finish, Chinese …
    message_en = models.CharField(max_length=300, blank=True)  # … and English
    task_result_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One dry run and one import per uploaded file: a second 确认导入 finds the first job.
            models.UniqueConstraint(fields=["token", "dry_run"], name="uniq_import_job_per_stash"),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.filename}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
