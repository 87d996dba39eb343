"""Admin: notices are read-only here; publishing, correcting and withdrawing go through notices.actions."""

from django.contrib import admin

from gongzhi.notices.models import Notice


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "kind", "node", "period_start", "period_end", "status"]
    list_filter = ["kind", "status"]
    list_select_related = ["node"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
