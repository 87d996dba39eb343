"""Organisations in the Django admin: read-only; changes go through organisations' actions (pages, API).

Members are listed with masked names and phones. Kinds are seeded by a data migration and edited there (or by a
future configuration page), not here, so that every change is audited.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from gongzhi.core import pii
from gongzhi.organizations.models import LiaisonAssignment, Membership, Organization, OrgKind


class ReadOnly(admin.ModelAdmin):
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


@admin.register(OrgKind)
class OrgKindAdmin(ReadOnly):
    list_display = [
        "code",
        "name",
        "name_en",
        "category",
        "chain_rank",
        "parent_kind",
        "expected_level",
        "is_temporary",
    ]
    list_filter = ["category"]


@admin.register(Organization)
class OrganizationAdmin(ReadOnly):
    list_display = ["name", "kind", "node", "parent", "project_ref", "founded", "dissolved"]
    list_filter = ["kind"]
    list_select_related = ["kind", "node", "parent"]
    search_fields = ["name"]
    raw_id_fields = ["node", "parent", "legal_person"]


@admin.register(Membership)
class MembershipAdmin(ReadOnly):
    list_display = ["organization", "masked_name", "masked_phone", "role", "is_party_member", "since", "until"]
    list_filter = ["role"]
    list_select_related = ["organization", "person"]
    exclude = ["person"]

    @admin.display(description=_("姓名"))
    def masked_name(self, obj: Membership) -> str:
        return pii.mask_name(obj.person.name)

    @admin.display(description=_("电话"))
    def masked_phone(self, obj: Membership) -> str:
        return pii.mask_phone(obj.person.phone)


@admin.register(LiaisonAssignment)
class LiaisonAssignmentAdmin(ReadOnly):
    list_display = ["liaison_id", "unit", "since", "until"]
    raw_id_fields = ["liaison", "unit"]
