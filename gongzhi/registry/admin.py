"""Registry in the Django admin: read-only and masked.

Changes go through registry actions (pages, the roster importer, commands), never through admin forms, so the
admin offers no add, change or delete. Personal data is masked here too; full values are shown only through
the audited reveal on the unit page. Lists never count big tables: the paginator stops counting at CAP rows.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from gongzhi.core import pii
from gongzhi.registry.models import AreaLevel, AreaNode, CompoundProfile, Ownership, Person, Residence, Unit, UnitSet


class CappedCountPaginator(Paginator):
    """Counts at most CAP rows (SELECT COUNT(*) FROM (… LIMIT CAP)): bounded cost on millions of units."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.CAP].count()


class ReadOnlyAdmin(admin.ModelAdmin):
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AreaLevel)
class AreaLevelAdmin(ReadOnlyAdmin):
    list_display = ["depth", "code", "name", "name_en", "is_compound"]


class CompoundProfileInline(admin.StackedInline):
    model = CompoundProfile
    can_delete = False
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AreaNode)
class AreaNodeAdmin(ReadOnlyAdmin):
    list_display = ["name", "level", "path", "unit_count", "resident_count", "aged_60_count", "aged_80_count"]
    list_select_related = ["level"]
    list_filter = ["level"]
    search_fields = ["name", "address", "=code"]
    fields = [
        "name",
        "level",
        "parent",
        "code",
        "address",
        "path",
        "depth",
        "unit_count",
        "household_count",
        "resident_count",
        "aged_60_count",
        "aged_80_count",
        "compound_count",
    ]
    raw_id_fields = ["parent"]
    inlines = [CompoundProfileInline]


@admin.register(Unit)
class UnitAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "node",
        "compound",
        "floor",
        "usage",
        "area_registered",
        "area_surveyed",
        "area_contract",
        "resident_count",
    ]
    list_select_related = ["node", "compound"]
    search_fields = ["=number"]
    raw_id_fields = ["node", "compound"]


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
    list_display = ["id", "masked_name", "kind", "masked_phone", "is_developer"]
    list_filter = ["kind", "is_developer"]
    fields = [
        "masked_name",
        "kind",
        "masked_phone",
        "masked_id_number",
        "credit_code",
        "is_developer",
        "home_path",
        "created_at",
        "erased_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("姓名/名称"))
    def masked_name(self, obj: Person) -> str:
        return str(obj)

    @admin.display(description=_("电话"))
    def masked_phone(self, obj: Person) -> str:
        return pii.mask_phone(obj.phone)

    @admin.display(description=_("身份证号"))
    def masked_id_number(self, obj: Person) -> str:
        return pii.mask_id_number(obj.get_id_number()) if obj.id_number_enc else ""


@admin.register(Ownership)
class OwnershipAdmin(ReadOnlyAdmin):
    list_display = ["unit", "owner", "is_designated_voter", "developer_status", "since", "until"]
    list_select_related = ["unit", "person"]
    raw_id_fields = ["unit", "person"]

    @admin.display(description=_("业主"))
    def owner(self, obj: Ownership) -> str:
        return str(obj.person)


@admin.register(Residence)
class ResidenceAdmin(ReadOnlyAdmin):
    list_display = ["unit", "resident", "relation", "is_household_head", "since", "until"]
    list_select_related = ["unit", "person"]
    raw_id_fields = ["unit", "person"]

    @admin.display(description=_("居民"))
    def resident(self, obj: Residence) -> str:
        return str(obj.person)


@admin.register(UnitSet)
class UnitSetAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "scope", "created_at"]
    list_select_related = ["scope"]
    raw_id_fields = ["scope"]
    filter_horizontal: list = []
