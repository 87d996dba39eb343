"""Surveys: a questionnaire over a set of households and a period, its versions, its frame and its responses."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gongzhi.core.choices import TextChoices
from gongzhi.surveys import questions as qdef

DEFAULT_TARGET = Decimal("0.92")
DEFAULT_SATISFIED_FROM = 4


class RateSettings(models.Model):
    """A district's rules for the three rates: the target (default 92%) and the lowest "satisfied" rating.

    A survey copies both when it is created, so its published figures stay reproducible after a change here.
    """

    node = models.OneToOneField("registry.AreaNode", on_delete=models.CASCADE, related_name="+")
    target = models.DecimalField(
        _("目标值"),
        max_digits=5,
        decimal_places=4,
        default=DEFAULT_TARGET,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
    )
    satisfied_from = models.PositiveSmallIntegerField(
        _("“满意”的最低评分"),
        default=DEFAULT_SATISFIED_FROM,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )

    def __str__(self) -> str:
        return f"{self.node}: {self.target} / {self.satisfied_from}"


class Survey(models.Model):
    """问卷 — a questionnaire over a set of households (a registry UnitSet) and a period."""

    class Status(TextChoices):
        DRAFT = "draft", _("草稿")
        OPEN = "open", _("进行中")
        CLOSED = "closed", _("已结束")

    class Respondents(TextChoices):
        """Who answers: one response per household (the default), per resident, or per enterprise or work unit
        (企业与单位 in the organisations registry, e.g. a vacancy-collection questionnaire for the jobs part)."""

        HOUSEHOLD = "household", _("每户一份")
        PERSON = "person", _("每位居民一份")
        ORGANIZATION = "organization", _("每家企业或单位一份")

    title = models.CharField(_("标题"), max_length=200)
    intro = models.TextField(_("说明"), blank=True)
    unit_set = models.ForeignKey("registry.UnitSet", on_delete=models.PROTECT, related_name="+")
    scope = models.ForeignKey("registry.AreaNode", on_delete=models.PROTECT, related_name="surveys")
    path = models.CharField(max_length=255, db_index=True, editable=False)  # scope.path, for scope checks
    opens_on = models.DateField(_("开始日期"))
    closes_on = models.DateField(_("结束日期"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    anonymous = models.BooleanField(_("匿名问卷"), default=False)
    respondents = models.CharField(
        _("答卷对象"), max_length=12, choices=Respondents.choices, default=Respondents.HOUSEHOLD
    )
    min_age = models.PositiveSmallIntegerField(
        _("居民最低年龄"), default=18, validators=[MaxValueValidator(120)]
    )  # per-resident surveys: residents this old or older when the survey opens (unknown age: included)
    # What the survey serves: "deliberation.matter:42", "renovation.project:7", "voting.vote:3" …; participation
    # records of that project, from every part, count toward 参与率 (see participation.py).
    project_ref = models.CharField(_("所属项目"), max_length=100, blank=True, db_index=True)
    target = models.DecimalField(max_digits=5, decimal_places=4, default=DEFAULT_TARGET)
    satisfied_from = models.PositiveSmallIntegerField(default=DEFAULT_SATISFIED_FROM)
    quota_percent = models.PositiveSmallIntegerField(
        _("每栋楼最低样本比例(%)"), null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    results_published = models.BooleanField(_("公开结果"), default=False)
    published_keys = models.JSONField(default=list, blank=True)  # questions whose results are public (never text)
    households = models.PositiveIntegerField(default=0)  # size of the frame, frozen when opened
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["path", "id"], name="survey_path_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(closes_on__gte=models.F("opens_on")), name="survey_period_order"),
            models.CheckConstraint(
                condition=Q(satisfied_from__gte=1, satisfied_from__lte=5), name="survey_satisfied_from_range"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def reference(self) -> str:
        return f"WJ{self.pk:06d}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def by_household(self) -> bool:
        return self.respondents == self.Respondents.HOUSEHOLD

    @property
    def counter(self) -> str:
        """The measure word after a count of respondents: 户, 人, 家 (households, residents, organisations)."""
        return str(COUNTERS[self.respondents][0])

    @property
    def respondent_label(self) -> str:
        """What the respondents are called: 住户, 居民, 企业和单位."""
        return str(COUNTERS[self.respondents][1])


COUNTERS = {
    Survey.Respondents.HOUSEHOLD: (
        pgettext_lazy("survey respondents", "户"),
        pgettext_lazy("survey respondents", "住户"),
    ),
    Survey.Respondents.PERSON: (pgettext_lazy("survey respondents", "人"), pgettext_lazy("survey respondents", "居民")),
    Survey.Respondents.ORGANIZATION: (
        pgettext_lazy("survey respondents", "家"),
        pgettext_lazy("survey respondents", "企业和单位"),
    ),
}


class SurveyVersion(models.Model):
    """One version of the questions. A change after the first response makes a new version; responses keep
    the version they answered."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    questions = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["survey", "-number"]
        constraints = [models.UniqueConstraint(fields=["survey", "number"], name="survey_version_once")]

    def __str__(self) -> str:
        return f"{self.survey_id} v{self.number}"

    @cached_property
    def flat(self) -> list[dict]:
        """The questions as they are answered and checked: repeat groups expanded (questions.expand)."""
        return qdef.expand(self.questions)


AGE_BANDS = [("80", _("80岁及以上")), ("60", _("60–79岁")), ("18", _("18–59岁")), ("0", _("未满18岁")), ("", _("不详"))]


class SurveyHousehold(models.Model):
    """The sampling frame: one row per household in scope, frozen when the survey opens — or, by the survey's
    `respondents`, one per resident (`person`, with their home `unit`) or per enterprise or work unit
    (`organization`, no unit; `building` is then the area node the organisation belongs to).

    `token` is the household's opaque id in this survey's data file. `taken` is set by a conditional update when
    the household's response is accepted — for anonymous surveys it is the only trace that the household answered
    (a flag, not a time, so it cannot be matched to a response by its time; the response keeps no link to it).
    """

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="frame")
    # The survey's respondents, copied: a resident's row stays a resident's after erasure unlinks the person.
    kind = models.CharField(max_length=12, choices=Survey.Respondents.choices, default=Survey.Respondents.HOUSEHOLD)
    unit = models.ForeignKey("registry.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    token = models.CharField(max_length=16)
    building = models.ForeignKey("registry.AreaNode", on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=255)  # the unit's path, for area breakdowns
    label = models.CharField(max_length=100)  # "1号楼1单元 101"
    # Age band of the household head (else the oldest resident) when the survey opened, for quotas by age.
    age_band = models.CharField(max_length=2, blank=True, choices=AGE_BANDS)
    taken = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "unit"], condition=Q(kind="household"), name="survey_frame_unit_once"
            ),
            models.UniqueConstraint(
                fields=["survey", "person"], condition=Q(person__isnull=False), name="survey_frame_person_once"
            ),
            models.UniqueConstraint(
                fields=["survey", "organization"],
                condition=Q(organization__isnull=False),
                name="survey_frame_organization_once",
            ),
            models.UniqueConstraint(fields=["survey", "token"], name="survey_frame_token_once"),
        ]
        indexes = [
            models.Index(fields=["survey", "building"], name="survey_frame_building_idx"),
            models.Index(fields=["survey", "path"], name="survey_frame_path_idx"),
        ]

    def __str__(self) -> str:
        return self.label


class Response(models.Model):
    """One household's answers. The partial unique constraint is the one-response-per-household guarantee
    (a rejected response frees the household to answer again)."""

    class Channel(TextChoices):
        ONLINE = "online", _("网上（短信确认）")
        DOOR = "door", _("入户")
        HOTLINE = "hotline", _("热线代录")
        PAPER = "paper", _("纸质问卷")

    class Review(TextChoices):
        NOT_NEEDED = "", _("无需审核")
        RECEIVED = "received", _("待审核")
        HAS_ISSUES = "has_issues", _("有问题")
        APPROVED = "approved", _("已通过")
        REJECTED = "rejected", _("已退回")

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    version = models.ForeignKey(SurveyVersion, on_delete=models.PROTECT, related_name="responses")
    household = models.ForeignKey(
        SurveyHousehold, null=True, blank=True, on_delete=models.PROTECT, related_name="responses"
    )  # None for anonymous surveys
    answers = models.JSONField(default=dict)
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    review = models.CharField(_("审核"), max_length=12, choices=Review.choices, blank=True, default="")
    review_comment = models.TextField(_("审核意见"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The figures read these two columns, copied from the answers by the action (so rates need no JSON parsing).
    aware = models.BooleanField(null=True)
    satisfaction = models.PositiveSmallIntegerField(null=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    on_behalf_of = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    scan = models.ForeignKey("core.Upload", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The number printed or written on a paper questionnaire: a paper is entered once (the constraint below).
    paper_number = models.CharField(_("纸质问卷编号"), max_length=30, blank=True, default="")
    submitted_at = models.DateTimeField()
    idempotency_key = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(household__isnull=False) & ~Q(review="rejected"),
                name="survey_one_response_per_household",
            ),
            models.UniqueConstraint(
                fields=["survey", "paper_number"],
                condition=~Q(paper_number="") & ~Q(review="rejected"),
                name="survey_paper_number_once",
            ),
            models.UniqueConstraint(
                fields=["survey", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="survey_response_idempotency_key",
            ),
        ]
        indexes = [models.Index(fields=["survey", "submitted_at"], name="survey_response_time_idx")]

    def __str__(self) -> str:
        return f"{self.survey_id}#{self.pk}"

    @property
    def reference(self) -> str:
        return f"HF{self.pk:07d}"

    @property
    def gate_path(self) -> str:
        return self.survey.path

    @property
    def counts(self) -> bool:
        """Whether the response counts in the figures (everything but a rejected one)."""
        return self.review != self.Review.REJECTED


class Quota(models.Model):
    """配额 — at most `maximum` counted responses from one building, from one age band of household heads, or
    choosing one option of a question (e.g. the places of a visit).

    `filled` moves only in the response actions, by conditional updates (`filled < maximum`), in the order
    actions.py states; the check constraint is the database's own refusal of an over-filled quota. A rejected
    response gives its places back.
    """

    class Kind(models.TextChoices):
        BUILDING = "building", _("楼栋")
        AGE_BAND = "age_band", _("户主年龄段")
        CHOICE = "choice", _("选项")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="quotas")
    kind = models.CharField(_("配额类型"), max_length=10, choices=Kind.choices)
    building = models.ForeignKey("registry.AreaNode", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    age_band = models.CharField(max_length=2, blank=True, choices=AGE_BANDS)
    question_key = models.CharField(max_length=40, blank=True)
    choice_code = models.CharField(max_length=40, blank=True)
    label = models.CharField(max_length=200)  # what it caps, in Chinese, frozen when added ("1号楼", "Q3：周六上午")
    label_en = models.CharField(max_length=200, blank=True)
    maximum = models.PositiveIntegerField(_("最多份数"))
    filled = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["survey", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(filled__lte=models.F("maximum")), name="survey_quota_not_overfilled"),
            models.CheckConstraint(
                condition=(Q(kind="building") & Q(building__isnull=False))
                | (Q(kind="age_band") & Q(building__isnull=True))
                | (Q(kind="choice") & Q(building__isnull=True) & ~Q(question_key="") & ~Q(choice_code="")),
                name="survey_quota_kind_fields",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ≤ {self.maximum}"

    @property
    def gate_path(self) -> str:
        return self.survey.path

    @property
    def full(self) -> bool:
        return self.filled >= self.maximum

    def matches(self, building_id: int | None, age_band: str | None, answers: dict) -> bool:
        """Does a response (its household's building and band, None when unknown, and its answers) count here?"""
        if self.kind == self.Kind.BUILDING:
            return building_id is not None and building_id == self.building_id
        if self.kind == self.Kind.AGE_BAND:
            return age_band is not None and age_band == self.age_band
        value = answers.get(self.question_key)
        return value == self.choice_code or (isinstance(value, list) and self.choice_code in value)
