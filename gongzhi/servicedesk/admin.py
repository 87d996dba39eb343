"""Admin: the catalogue and the Open311 clients are edited here through the actions (permission + audit);
work orders are read-only here (their pages move them)."""

from __future__ import annotations

from django.contrib import admin, messages

from gongzhi.servicedesk import actions
from gongzhi.servicedesk.models import Category, Open311Client, Question, ServiceRequest


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ["code", "label", "label_en", "datatype", "required", "values", "order"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "group", "responsible_label", "limit_value", "limit_unit", "active"]
    inlines = [QuestionInline]
    exclude = ["path"]

    def save_model(self, request, obj, form, change):
        actions.save_category(obj, actor=request.user)

    def save_formset(self, request, form, formset, change):
        for q in formset.save(commit=False):
            actions.save_question(q, actor=request.user)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Open311Client)
class Open311ClientAdmin(admin.ModelAdmin):
    """A new client's key is shown once, in the message after saving; only its hash is kept."""

    list_display = ["name", "key_prefix", "node", "per_minute", "active", "created_at"]
    fields = ["name", "node", "per_minute", "active"]

    def get_readonly_fields(self, request, obj=None):
        return ["name", "node", "per_minute"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            actions.set_open311_client_active(obj, actor=request.user, active=obj.active)
            return
        client, key = actions.create_open311_client(
            actor=request.user, name=obj.name, node=obj.node, per_minute=obj.per_minute
        )
        obj.pk = client.pk
        messages.warning(request, f"API key (shown once / 只显示一次): {key}")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ServiceRequest)
class ServiceRequestAdmin(admin.ModelAdmin):
    list_display = ["reference", "category", "status", "accepted_at", "due_at", "escalation_level"]
    list_filter = ["status", "category"]
    fields = ["reference", "category", "status", "description", "path", "accepted_at", "due_at", "resolution"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
