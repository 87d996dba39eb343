"""Users, their scoped roles, the audit log, sign-in safety, one-time codes, private uploads, calendar."""

from __future__ import annotations

import uuid
from typing import TypeAlias

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.core.choices import TextChoices
from gongzhi.core.roles import ROLE_CHOICES


class User(AbstractUser):
    """A person who signs in: staff, operators, crews, residents (linked to their person record)."""

    display_name = models.CharField(_("显示名称"), max_length=100, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True, db_index=True)
    person = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )
    password_changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.username

    def set_password(self, raw_password):
        """A new password also ends every API token issued before it (see core.api_auth)."""
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()


#: Who reads a page (``request.user``): a signed-in user or an anonymous visitor; selectors take one.
Reader: TypeAlias = "User | AnonymousUser"


class RoleAssignment(models.Model):
    """A role held at a node of the area tree: the holder acts within that node and everything under it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("角色"), max_length=32, choices=ROLE_CHOICES)
    node = models.ForeignKey("registry.AreaNode", on_delete=models.CASCADE, related_name="role_assignments")
    # Copy of node.path so a scope check is one indexed prefix comparison.
    scope_path = models.CharField(max_length=255, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role", "node"], name="uniq_role_at_node")]

    def save(self, *args, **kwargs):
        self.scope_path = self.node.path
        super().save(*args, **kwargs)


class AuditEntry(models.Model):
    """审计日志 — append-only and tamper-evident.

    Entries form N independent hash chains (chain = hash of the target % AUDIT_CHAINS). Each entry carries
    its chain's sequence number and the previous entry's MAC, and (chain, seq) is unique: two writers on one
    chain race on that constraint and the loser retries, so there is no global write lock. Personal data is
    never copied in: `changes` names personal fields and refers to the person by id, so the person can be
    erased without breaking the log.
    """

    chain = models.PositiveSmallIntegerField()
    seq = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(max_length=150, blank=True)
    on_behalf_of = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    channel = models.CharField(max_length=32, blank=True)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    action = models.CharField(max_length=100, db_index=True)
    target_type = models.CharField(max_length=100)
    target_id = models.CharField(max_length=64)
    changes = models.JSONField(default=dict)
    prev_mac = models.CharField(max_length=64)
    mac = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq_unique")]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]
        ordering = ["-id"]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("audit entries are append-only")


class AuditCheckpoint(models.Model):
    """审计检查点 — the head (last seq and MAC) of every audit chain at one moment, signed with the look-up key
    and linked to the previous checkpoint. Each is also appended to a file outside the database
    (GONGZHI_AUDIT_CHECKPOINT_FILE), so deleting the last entries of a chain — and the checkpoints that saw them —
    still shows: the file remembers a head the chain no longer reaches. See core.audit.checkpoint."""

    created_at = models.DateTimeField()
    heads = models.JSONField(default=dict)  # {"chain": [seq, mac]}
    prev_mac = models.CharField(max_length=64)
    mac = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("audit checkpoints are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("audit checkpoints are append-only")


class JobRun(models.Model):
    """One background job's run (a day's routing plan, a notice's PDF …), for finding runs whose worker died:
    the worker holds the job's lock (core.joblocks) while this says running; core.jobs.reap finds a running
    one whose lock is free, marks it failed, and retries or reports it."""

    class Status(TextChoices):
        RUNNING = "running", _("运行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    kind = models.CharField(max_length=32)
    object_id = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="core_jobrun_kind_object")]
        indexes = [models.Index(fields=["status"], name="core_jobrun_status_idx")]


class FormSubmission(models.Model):
    """A web form's idempotency key, once its submission committed (see core.once): a keyed hash of who,
    where and the key, and where the first submission led."""

    digest = models.CharField(max_length=64, primary_key=True)
    created_at = models.DateTimeField(db_index=True)
    result_url = models.CharField(max_length=500, blank=True)


class RateCounter(models.Model):
    """A counter for a limit (sign-in failures, SMS sent, anonymous writes) — see core.limits.

    `bucket` is a keyed hash of what is counted (never a name or number in clear); `expires_at` is in
    milliseconds since the epoch, so the one-statement upsert compares plain integers on every database.
    """

    bucket = models.CharField(max_length=64, primary_key=True)
    hits = models.PositiveIntegerField(default=0)
    expires_at = models.BigIntegerField(db_index=True)


class SmsCode(models.Model):
    """A one-time code sent by SMS (sign-in, identity confirmation before voting). Only its hash is kept."""

    phone = models.CharField(max_length=20, db_index=True)
    purpose = models.CharField(max_length=32, default="login")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)


class OutgoingSms(models.Model):
    """短信发送记录 — one text message on its way to a phone, sent by a background job (core.sms.deliver_sms).

    The number and the text are kept encrypted only until the message is sent or given up, then wiped; what stays
    is the masked number, a keyed hash of it (to find a number's messages) and the text with its secrets (a
    sign-in code, a rating link's token) masked — what a worker or an administrator may see."""

    class Status(TextChoices):
        QUEUED = "queued", _("待发送")
        SENDING = "sending", _("发送中")
        RETRYING = "retrying", _("待重试")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")

    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, db_index=True)
    kind = models.CharField(_("类别"), max_length=20, default="notice")
    phone_masked = models.CharField(_("手机号"), max_length=20)
    phone_digest = models.CharField(max_length=64, db_index=True)
    phone_sealed = models.TextField(blank=True)
    text_sealed = models.TextField(blank=True)
    text_shown = models.TextField(_("内容（已隐去验证码）"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次重试"), null=True, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # a code not sent by then is given up, not sent late
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        verbose_name = _("短信")
        verbose_name_plural = _("短信发送记录")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="core_sms_status_due_idx")]

    def __str__(self) -> str:
        return f"{self.phone_masked} {self.get_status_display()}"


class Upload(models.Model):
    """A private file (ballot scan, proxy form, photo), served only through a permission-checked view."""

    class Kind(TextChoices):
        PHOTO = "photo", _("照片")
        SCAN = "scan", _("扫描件")
        DOCUMENT = "document", _("文件")

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    file = models.FileField(upload_to="uploads/%Y/%m/")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    scope_path = models.CharField(max_length=255, blank=True, help_text="area the file belongs to")
    created_at = models.DateTimeField(auto_now_add=True)


class CalendarOverride(models.Model):
    """A district's correction to the official holiday/调休 calendar (e.g. a newly announced year)."""

    day = models.DateField(unique=True)
    is_workday = models.BooleanField()
    note = models.CharField(max_length=100, blank=True)


class EnrolmentCode(models.Model):
    """绑定码 — a one-time code an administrator hands over out of band (in person, by phone), without which a
    user cannot set up a second factor: a stolen password alone must not be enough to enrol an authenticator.

    Only a salted, keyed hash is kept (HMAC with the look-up key, which lives outside the database). At most one
    code per user is live (neither used nor revoked); issuing a new one revokes the old.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="enrolment_codes")
    salt = models.CharField(max_length=32)
    code_hash = models.CharField(max_length=64)
    issued_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)  # wrong codes entered while this one was live
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Two administrators issuing at once cannot leave two live codes behind.
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(used_at__isnull=True, revoked_at__isnull=True),
                name="one_live_enrolment_code_per_user",
            )
        ]
