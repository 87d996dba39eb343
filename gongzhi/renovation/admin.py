"""Admin: renovation records are read-only here; every change goes through renovation.actions (and nothing,
defects above all, is ever deleted)."""

from django.contrib import admin

from gongzhi.renovation.models import Defect, MenuCategory, MenuItem, Order, Plan, Project, WorkItem


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MenuCategory)
class MenuCategoryAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "district", "pace", "order"]


@admin.register(MenuItem)
class MenuItemAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "category", "coverage", "unit_cost", "cost_basis", "consent"]
    list_select_related = ["category"]


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "scope", "stage", "budget"]
    list_select_related = ["scope"]
    list_filter = ["stage"]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["id", "project", "unit", "item", "agrees", "channel", "updated_at"]
    list_select_related = ["project", "unit", "item"]


@admin.register(WorkItem)
class WorkItemAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "name", "project", "budget", "progress"]
    list_select_related = ["project"]


@admin.register(Defect)
class DefectAdmin(ReadOnlyAdmin):
    list_display = ["id", "project", "description", "status", "deadline"]
    list_select_related = ["project"]
    exclude = ["token"]  # the contractor's link is a secret


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdmin):
    list_display = ["id", "project", "title", "building", "floor", "width", "height", "created_at"]
    list_select_related = ["project", "building"]
