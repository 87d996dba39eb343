"""Compound organisations: the 三类组织, the "1+4" party chain, owners' committees, companies, 驻区单位."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from gongzhi.core.choices import TextChoices


class OrgKind(models.Model):
    """A kind of organisation; district-configurable data (seeded with Erqi's kinds by a migration).

    `category` places a kind among the three kinds of compound organisation (三类组织) checked by the
    coverage report; `chain_rank` orders the "1+4" party chain (1 = community party committee … 4 = liaison).
    """

    class Category(TextChoices):
        PARTY = "party", _("党组织")
        SELF_GOVERNANCE = "self_governance", _("居民自治组织")
        VOLUNTEER = "volunteer", _("志愿服务组织")
        MANAGEMENT = "management", _("业主与管理组织")
        MARKET = "market", _("企业与单位")

    code = models.SlugField(unique=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(max_length=80)
    category = models.CharField(_("类别"), max_length=20, choices=Category.choices)
    chain_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    parent_kind = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The area level code this kind normally sits at (e.g. compound_party_branch → estate).
    expected_level = models.CharField(max_length=50, blank=True)
    is_temporary = models.BooleanField(default=False)  # temporary party branches tied to a project

    class Meta:
        ordering = ["category", "chain_rank", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """The kind's name in the page's language (the English name is stored with it)."""
        return self.name_en if self.name_en and (get_language() or "").startswith("en") else self.name


class Organization(models.Model):
    """An organisation covering an area node (and everything under it)."""

    kind = models.ForeignKey(OrgKind, on_delete=models.PROTECT, related_name="organizations")
    name = models.CharField(_("名称"), max_length=150)
    node = models.ForeignKey("registry.AreaNode", on_delete=models.PROTECT, related_name="organizations")
    path = models.CharField(max_length=255, db_index=True, editable=False)  # node.path, for scope checks
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    legal_person = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="organizations"
    )
    project_ref = models.CharField(_("关联项目"), max_length=100, blank=True)  # temporary party branch
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    founded = models.DateField(_("成立日期"), null=True, blank=True)
    dissolved = models.DateField(_("撤销日期"), null=True, blank=True)

    class Meta:
        ordering = ["path", "kind__chain_rank", "name"]
        indexes = [models.Index(fields=["kind", "path"], name="org_kind_path_idx")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.path = self.node.path
        super().save(*args, **kwargs)


class Membership(models.Model):
    class Role(TextChoices):
        SECRETARY = "secretary", _("书记")
        DEPUTY = "deputy", _("副书记")
        LEADER = "leader", _("组长/主任")
        MEMBER = "member", _("成员")
        LIAISON = "liaison", _("党员联络员")
        REPRESENTATIVE = "representative", _("党员代表")
        CONTACT = "contact", _("联系人")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("职务"), max_length=20, choices=Role.choices, default=Role.MEMBER)
    is_party_member = models.BooleanField(_("党员"), default=False)
    since = models.DateField(null=True, blank=True)
    until = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "person", "role"],
                condition=Q(until__isnull=True),
                name="uniq_current_membership",
            )
        ]


class LiaisonAssignment(models.Model):
    """A party-member liaison (党员联络员) looks after a set of households (units)."""

    liaison = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="households")
    unit = models.ForeignKey("registry.Unit", on_delete=models.CASCADE, related_name="liaison_assignments")
    since = models.DateField(null=True, blank=True)
    until = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit"], condition=Q(until__isnull=True), name="one_current_liaison_per_unit"
            )
        ]
