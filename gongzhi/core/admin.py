from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from gongzhi.core import actions, pii, sms
from gongzhi.core.gate import allows
from gongzhi.core.models import CalendarOverride, OutgoingSms


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin):
    """District administrators enter newly announced holidays and 调休 days; every change goes through actions."""

    list_display = ("day", "is_workday", "note")
    ordering = ("-day",)

    def has_module_permission(self, request):
        return allows(request.user, "core.change_calendaroverride")

    has_view_permission = has_change_permission = has_add_permission = has_delete_permission = (
        lambda self, request, obj=None: allows(request.user, "core.change_calendaroverride")
    )

    def save_model(self, request, obj, form, change):
        saved = actions.set_calendar_override(actor=request.user, day=obj.day, is_workday=obj.is_workday, note=obj.note)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        actions.remove_calendar_override(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            actions.remove_calendar_override(obj, actor=request.user)


@admin.register(OutgoingSms)
class OutgoingSmsAdmin(admin.ModelAdmin):
    """The message log, read-only: where each text stands (queued, retrying, sent, failed) and why it failed.
    Numbers are masked and codes or link tokens hidden; the sealed number and text are never shown."""

    list_display = ("created_at", "kind", "phone_masked", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("phone_digest",)  # searched by get_search_results: a full number, by its keyed hash
    search_help_text = _("输入完整手机号查找发往该号码的短信")
    ordering = ("-id",)
    fields = readonly_fields = (
        "created_at",
        "kind",
        "phone_masked",
        "text_shown",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "expires_at",
        "error",
    )
    show_full_result_count = False  # no COUNT(*) over millions of rows

    def get_search_results(self, request, queryset, search_term):
        """A full number typed in is looked up by its keyed hash: the log keeps no number in clear."""
        if not search_term.strip():
            return queryset, False
        try:
            number = pii.normalize_mobile(search_term)
        except pii.PiiError:
            return queryset.none(), False
        return queryset.filter(phone_digest=sms.phone_digest(number)), False

    def has_module_permission(self, request):
        return allows(request.user, "core.view_outgoingsms")

    def has_view_permission(self, request, obj=None):
        return allows(request.user, "core.view_outgoingsms")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
