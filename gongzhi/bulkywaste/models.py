"""大件垃圾上门回收 — bookings, day capacity, vehicles, day plans and rounds, the cost ledger, ratings and
illegal-dumping reports.

What is bulky is decided by the pure `sizing.classify`; rounds are solved by the pure `routing.solve`.
Coordinates are stored in WGS-84 (`gongzhi.core.geo.STORAGE_DATUM`) and converted to GCJ-02 only at the edge.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.functional import lazy
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from gongzhi.bulkywaste import sizing
from gongzhi.core.choices import TextChoices
from gongzhi.core.geo import STORAGE_DATUM

DATUM = STORAGE_DATUM


def _in_language(zh: str, en: str) -> str:
    return en if (get_language() or "").startswith("en") else zh


# Labels in the page's language (the sizing module keeps both; the stored value is the code).
in_language = lazy(_in_language, str)
CATEGORY_CHOICES = [(c.code, in_language(c.label_zh, c.label_en)) for c in sizing.Category]


class ServiceArea(models.Model):
    """收运片区 — an area node served as one unit of capacity and planning (usually a subdistrict).

    A booking belongs to the deepest service area whose node contains its address. Capacity, the booking
    cut-off and the planning budget are configured here.
    """

    node = models.OneToOneField("registry.AreaNode", on_delete=models.PROTECT, related_name="bulky_area")
    path = models.CharField(max_length=255, db_index=True, editable=False)
    name = models.CharField(_("名称"), max_length=100)
    daily_stops = models.PositiveIntegerField(_("每日上门次数上限"), default=60)
    daily_volume_litres = models.PositiveIntegerField(_("每日收运体积上限（升）"), default=60_000)
    workdays_only = models.BooleanField(_("仅工作日收运"), default=True)
    horizon_days = models.PositiveSmallIntegerField(_("可预约天数"), default=21)
    cutoff_days_before = models.PositiveSmallIntegerField(_("截止提前天数"), default=1)
    cutoff_time = models.TimeField(_("截止时刻"), default=time(18, 0))
    service_seconds_base = models.PositiveIntegerField(_("每站基本装车时间（秒）"), default=300)
    service_seconds_per_item = models.PositiveIntegerField(_("每件装车时间（秒）"), default=120)
    solver_iterations = models.PositiveIntegerField(_("排线迭代次数"), default=2000)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.path = self.node.path
        super().save(*args, **kwargs)


class CatalogueEntry(models.Model):
    """常见物品 — an item residents pick, with typical measures (seeded from `sizing.CATALOGUE`)."""

    code = models.SlugField(unique=True)
    name = models.CharField(_("名称"), max_length=60)
    name_en = models.CharField(max_length=100)
    category = models.CharField(_("类别"), max_length=32, choices=CATEGORY_CHOICES)
    typical_weight_kg = models.DecimalField(_("典型重量（千克）"), max_digits=8, decimal_places=2)
    typical_volume_m3 = models.DecimalField(_("典型体积（立方米）"), max_digits=8, decimal_places=3)
    typical_length_m = models.DecimalField(_("典型长度（米）"), max_digits=6, decimal_places=2)
    price = models.DecimalField(_("单价（元）"), max_digits=8, decimal_places=2, default=Decimal("0"))
    order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the page's language."""
        return _in_language(self.name, self.name_en or self.name)

    @property
    def sizing_category(self) -> sizing.Category:
        return sizing.Category(self.category)

    def decision(self) -> sizing.SizingDecision:
        return sizing.classify(
            self.sizing_category, self.typical_weight_kg, self.typical_volume_m3, self.typical_length_m
        )


class FeeSchedule(models.Model):
    """收费标准 — free for now (前期由政府承担); the solid-waste law lets the producer pay, so it is configurable."""

    class Mode(TextChoices):
        FREE = "free", _("免费")
        PER_ITEM = "per_item", _("按件收费")
        FLAT = "flat", _("按次收费")

    mode = models.CharField(_("方式"), max_length=10, choices=Mode.choices, default=Mode.FREE)
    flat_amount = models.DecimalField(_("每次金额（元）"), max_digits=8, decimal_places=2, default=Decimal("0"))
    default_item_price = models.DecimalField(
        _("自填物品单价（元）"), max_digits=8, decimal_places=2, default=Decimal("0")
    )
    effective_from = models.DateField(_("生效日期"))
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        ordering = ["-effective_from", "-id"]


class CostRates(models.Model):
    """台账单价 — the paying department's unit costs: vehicle-km, crew hours, disposal per kg."""

    vehicle_km = models.DecimalField(_("车辆每公里成本（元）"), max_digits=8, decimal_places=2)
    crew_hour = models.DecimalField(_("人工每小时成本（元）"), max_digits=8, decimal_places=2)
    disposal_kg = models.DecimalField(_("处置每千克费用（元）"), max_digits=8, decimal_places=4)
    effective_from = models.DateField(_("生效日期"))

    class Meta:
        ordering = ["-effective_from", "-id"]


class DayCapacity(models.Model):
    """What is left of one area's day. Taken by a conditional UPDATE inside the booking transaction, and the
    CHECK constraints make an overbooked day impossible even if some code path forgot the condition."""

    area = models.ForeignKey(ServiceArea, on_delete=models.CASCADE, related_name="capacities")
    day = models.DateField()
    stops_left = models.IntegerField()
    volume_left = models.IntegerField(help_text="litres")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["area", "day"], name="bulky_capacity_area_day"),
            models.CheckConstraint(condition=Q(stops_left__gte=0), name="bulky_capacity_stops_nonneg"),
            models.CheckConstraint(condition=Q(volume_left__gte=0), name="bulky_capacity_volume_nonneg"),
        ]


class Channel(TextChoices):
    WEB = "web", _("网上预约")
    HOTLINE = "hotline", _("热线电话")
    PROPERTY = "property", _("物业整院预约")
    DISPATCHER = "dispatcher", _("调度加急")
    API = "api", _("接口")


class Window(TextChoices):
    MORNING = "morning", _("上午 8:00–12:00")
    AFTERNOON = "afternoon", _("下午 13:00–17:00")
    CUSTOM = "custom", _("指定时段")


WINDOW_TIMES = {Window.MORNING: (time(8, 0), time(12, 0)), Window.AFTERNOON: (time(13, 0), time(17, 0))}


class Booking(models.Model):
    """预约 — one door-to-door pickup, booked by a resident, an operator for a caller, a property manager for
    a whole compound, or a dispatcher on the urgent path."""

    class Status(TextChoices):
        BOOKED = "booked", _("已预约")
        PLANNED = "planned", _("已排班")
        COLLECTED = "collected", _("已收运")
        PARTLY = "partly", _("部分收运")
        NOT_COLLECTED = "not_collected", _("未收运")
        CANCELLED = "cancelled", _("已取消")

    OPEN = (Status.BOOKED, Status.PLANNED)
    FINISHED = (Status.COLLECTED, Status.PARTLY, Status.NOT_COLLECTED)

    reference = models.CharField(_("预约编号"), max_length=20, unique=True)
    area = models.ForeignKey(ServiceArea, on_delete=models.PROTECT, related_name="bookings")
    path = models.CharField(max_length=255, db_index=True)  # the unit's (or compound's / area's) path, for scope
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.BOOKED)
    day = models.DateField(_("上门日期"), db_index=True)
    preferred_days = models.JSONField(_("希望日期"), default=list, blank=True)
    window = models.CharField(_("时段"), max_length=10, choices=Window.choices, default=Window.MORNING)
    window_start = models.TimeField(_("时段开始"))
    window_end = models.TimeField(_("时段结束"))
    unit = models.ForeignKey("registry.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    compound = models.ForeignKey("registry.AreaNode", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    address = models.CharField(_("地址"), max_length=200)
    latitude = models.DecimalField(_("纬度(WGS-84)"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("经度(WGS-84)"), max_digits=9, decimal_places=6)
    contact_name = models.CharField(_("联系人"), max_length=50)
    contact_phone = models.CharField(_("联系电话"), max_length=20)
    notes = models.CharField(_("给收运人员的说明"), max_length=300, blank=True)
    channel = models.CharField(_("渠道"), max_length=12, choices=Channel.choices)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    on_behalf_of = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    urgent = models.BooleanField(_("加急"), default=False)
    urgent_reason = models.CharField(_("加急原因"), max_length=300, blank=True)
    capacity_taken = models.BooleanField(default=False)  # holds one stop and its volume of DayCapacity
    volume_litres = models.PositiveIntegerField(default=0)
    weight_kg = models.DecimalField(max_digits=9, decimal_places=2, default=Decimal("0"))
    item_count = models.PositiveIntegerField(default=0)
    fee = models.DecimalField(_("费用（元）"), max_digits=8, decimal_places=2, default=Decimal("0"))
    fee_mode = models.CharField(max_length=10, blank=True)
    idempotency_key = models.CharField(max_length=64, blank=True)
    planned_eta = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)  # the resident was told the fixed day and time
    notified_eta = models.DateTimeField(null=True, blank=True)  # the arrival time the resident was last told
    finished_at = models.DateTimeField(null=True, blank=True)
    on_time = models.BooleanField(null=True)
    rating_token = models.CharField(max_length=43, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["booked_by", "idempotency_key"], condition=~Q(idempotency_key=""), name="bulky_booking_idem"
            )
        ]
        indexes = [models.Index(fields=["area", "day", "status"], name="bulky_booking_area_day")]

    def __str__(self) -> str:
        return self.reference

    @property
    def window_label(self) -> str:
        return f"{self.window_start:%H:%M}–{self.window_end:%H:%M}"


class BookingItem(models.Model):
    """One line of a booking: a catalogue item or a described one, with measures per piece and the outcome."""

    class Outcome(TextChoices):
        PENDING = "pending", _("待收运")
        COLLECTED = "collected", _("已收运")
        NOT_FOUND = "not_found", _("未找到")
        REFUSED = "refused", _("拒收")

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="items")
    entry = models.ForeignKey(CatalogueEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(_("物品"), max_length=100)
    category = models.CharField(_("类别"), max_length=32, choices=CATEGORY_CHOICES)
    quantity = models.PositiveSmallIntegerField(_("数量"), default=1)
    weight_kg = models.DecimalField(_("每件重量（千克）"), max_digits=8, decimal_places=2, null=True, blank=True)
    volume_m3 = models.DecimalField(_("每件体积（立方米）"), max_digits=8, decimal_places=3, null=True, blank=True)
    length_m = models.DecimalField(_("每件长度（米）"), max_digits=6, decimal_places=2, null=True, blank=True)
    outcome = models.CharField(_("结果"), max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    collected_weight_kg = models.DecimalField(
        _("实收重量（千克）"), max_digits=9, decimal_places=2, null=True, blank=True
    )
    outcome_photo = models.ForeignKey("core.Upload", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    outcome_at = models.DateTimeField(null=True, blank=True)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["id"]

    @property
    def display_name(self) -> str:
        """A catalogue item by its name in the page's language; a described item as the resident wrote it."""
        return self.entry.display_name if self.entry_id else self.description


class BookingPhoto(models.Model):
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="photos")
    upload = models.ForeignKey("core.Upload", on_delete=models.PROTECT, related_name="+")


class DailySequence(models.Model):
    """The NNNN of DJ-YYYYMMDD-NNNN: one counter row per prefix and day, incremented by an UPDATE (row-locked)."""

    key = models.CharField(max_length=20, primary_key=True)  # "DJ-20261125"
    value = models.PositiveIntegerField(default=0)


class Vehicle(models.Model):
    """收运车辆 — capacity by volume and weight, its depot (WGS-84), shift and crew."""

    area = models.ForeignKey(ServiceArea, on_delete=models.PROTECT, related_name="vehicles")
    name = models.CharField(_("车辆"), max_length=50)
    plate = models.CharField(_("车牌"), max_length=20, blank=True)
    volume_litres = models.PositiveIntegerField(_("容积（升）"))
    weight_kg = models.PositiveIntegerField(_("载重（千克）"))
    depot_latitude = models.DecimalField(_("车场纬度(WGS-84)"), max_digits=9, decimal_places=6)
    depot_longitude = models.DecimalField(_("车场经度(WGS-84)"), max_digits=9, decimal_places=6)
    shift_start = models.TimeField(_("出车时间"), default=time(7, 30))
    shift_end = models.TimeField(_("收车时间"), default=time(17, 30))
    crew = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="bulky_vehicles")
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["area_id", "name"]

    def __str__(self) -> str:
        return f"{self.name} {self.plate}".strip()


class UnloadSite(models.Model):
    """卸车点 — where a full truck unloads between trips: a depot (车场) or a transfer station (中转站).

    When an area has any, its trucks make several trips a day within their shifts; unloading at the
    trucks' own depot counts only if the depot is listed here as well.
    """

    class Kind(TextChoices):
        DEPOT = "depot", _("车场")
        TRANSFER = "transfer", _("中转站")

    area = models.ForeignKey(ServiceArea, on_delete=models.PROTECT, related_name="unload_sites")
    name = models.CharField(_("名称"), max_length=60)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, default=Kind.TRANSFER)
    latitude = models.DecimalField(_("纬度(WGS-84)"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("经度(WGS-84)"), max_digits=9, decimal_places=6)
    unload_minutes = models.PositiveSmallIntegerField(_("卸车时间（分钟）"), default=15)
    opens = models.TimeField(_("开放时间"), default=time(6, 0))
    closes = models.TimeField(_("关闭时间"), default=time(20, 0))
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["area_id", "name"]

    def __str__(self) -> str:
        return self.name


class DayPlan(models.Model):
    """调度计划 — one area's day: its rounds, and the bookings that could not be fitted, with reasons."""

    class Status(TextChoices):
        QUEUED = "queued", _("排线中")
        DONE = "done", _("已排线")
        FAILED = "failed", _("排线失败")

    area = models.ForeignKey(ServiceArea, on_delete=models.PROTECT, related_name="plans")
    day = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    version = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField(null=True, blank=True)
    planned_at = models.DateTimeField(null=True, blank=True)
    matrix = models.CharField(max_length=40, blank=True)
    iterations = models.PositiveIntegerField(default=0)
    seed = models.PositiveIntegerField(default=0)
    unassigned = models.JSONField(default=list, blank=True)  # [{"booking", "reference", "part", "reason"}]
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["area", "day"], name="bulky_plan_area_day")]


class Round(models.Model):
    """一趟 — one vehicle's round on a day: depot → stops in order → depot, in one or more trips with an
    unloading stop (:class:`RoundUnload`) between two trips."""

    class Status(TextChoices):
        PLANNED = "planned", _("待出车")
        STARTED = "started", _("收运中")
        COMPLETED = "completed", _("已完成")

    plan = models.ForeignKey(DayPlan, on_delete=models.CASCADE, related_name="rounds")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="rounds")
    day = models.DateField(db_index=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PLANNED)
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    distance_m = models.PositiveIntegerField(default=0)
    volume_litres = models.PositiveIntegerField(default=0)
    weight_kg = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["day", "vehicle_id"]

    @property
    def gate_path(self) -> str:
        """The scope a round lies in, for the permission gate: its plan's service area."""
        return self.plan.area.path


class RoundStop(models.Model):
    """A stop on a round: a booking, or one part of a booking too large for one vehicle."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="stops")
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="stops")
    part = models.PositiveSmallIntegerField(default=0)  # 0 = whole booking; 1..k = part of a split booking
    parts = models.PositiveSmallIntegerField(default=1)
    order = models.PositiveSmallIntegerField()
    eta = models.DateTimeField()
    departure = models.DateTimeField()
    volume_litres = models.PositiveIntegerField(default=0)
    weight_kg = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)
    trip = models.PositiveSmallIntegerField(_("车次"), default=0)  # 0 = the round's first trip

    class Meta:
        ordering = ["round_id", "order"]

    @property
    def gate_path(self) -> str:
        return self.round.gate_path


class RoundUnload(models.Model):
    """卸车 — the truck unloads at a site after trip ``after_trip`` and goes out again on the next one."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="unloads")
    site = models.ForeignKey(UnloadSite, on_delete=models.PROTECT, related_name="+")
    after_trip = models.PositiveSmallIntegerField()
    eta = models.DateTimeField()
    departure = models.DateTimeField()
    volume_litres = models.PositiveIntegerField(default=0)
    weight_kg = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["round_id", "after_trip"]
        constraints = [models.UniqueConstraint(fields=["round", "after_trip"], name="bulky_unload_round_trip")]


class CostEntry(models.Model):
    """台账 — one cost line of one stop; per booking, vehicle, round and area are sums of these rows."""

    class Kind(TextChoices):
        VEHICLE_KM = "vehicle_km", _("车辆里程")
        CREW_HOURS = "crew_hours", _("人工工时")
        DISPOSAL = "disposal", _("末端处置")

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="costs")
    stop = models.ForeignKey(RoundStop, on_delete=models.PROTECT, related_name="costs")
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="costs")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="costs")
    area = models.ForeignKey(ServiceArea, on_delete=models.PROTECT, related_name="costs")
    day = models.DateField(db_index=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    quantity = models.DecimalField(max_digits=12, decimal_places=4)
    rate = models.DecimalField(max_digits=8, decimal_places=4)
    amount = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stop", "kind"], name="bulky_cost_stop_kind")]


class Rating(models.Model):
    """评价 — a resident's 1–5 rating of a pickup; once per booking (the one-to-one key guarantees it)."""

    booking = models.OneToOneField(Booking, on_delete=models.CASCADE, related_name="rating")
    score = models.PositiveSmallIntegerField(_("评分"))
    comment = models.CharField(_("意见"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="bulky_rating_1_5")]


class DumpingReport(models.Model):
    """乱丢大件垃圾举报 — from anyone; handled by the community. Shaped like an Open311 service request
    (service_code, description, lat/long, address_string, media, status) so a service desk can take it over."""

    SERVICE_CODE = "bulky_dumping"

    class Status(TextChoices):
        NEW = "new", _("待处理")
        ASSIGNED = "assigned", _("已派单")
        RESOLVED = "resolved", _("已处理")

    reference = models.CharField(max_length=20, unique=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.NEW)
    description = models.CharField(_("情况说明"), max_length=1000)
    address = models.CharField(_("地点"), max_length=200, blank=True)
    latitude = models.DecimalField(_("纬度(WGS-84)"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("经度(WGS-84)"), max_digits=9, decimal_places=6, null=True, blank=True)
    area = models.ForeignKey(ServiceArea, on_delete=models.PROTECT, related_name="dumping_reports")
    path = models.CharField(max_length=255, db_index=True)
    photo = models.ForeignKey("core.Upload", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reporter_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.CharField(_("处理结果"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["area", "status", "id"], name="bulky_dumping_queue")]
