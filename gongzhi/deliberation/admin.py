"""Admin: procedures (templates and stages) are district configuration; matters are read-only here — every
change to a matter goes through deliberation.actions (the pages and the API)."""

from django.contrib import admin

from gongzhi.deliberation.models import Matter, ProcessTemplate, StageDefinition


class StageInline(admin.TabularInline):
    model = StageDefinition
    extra = 0
    fields = ["order", "code", "name", "name_en", "bodies", "features", "notice_days", "notice_kind"]


@admin.register(ProcessTemplate)
class ProcessTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "node", "is_default"]
    inlines = [StageInline]
    raw_id_fields = ["node"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Matter)
class MatterAdmin(ReadOnlyAdmin):
    list_display = ["id", "title", "stage", "scope", "notice_ends_on", "outcome"]
    list_filter = ["stage__code"]
    list_select_related = ["stage", "scope"]
    show_full_result_count = False
