"""Admin: configuration (catalogue, fees, cost rates, service areas, vehicles, unloading sites) is edited here and saved through
`actions.save_config` (permission + audit); bookings, plans and reports are read-only (pages change them)."""

from __future__ import annotations

from django.contrib import admin

from gongzhi.bulkywaste import actions
from gongzhi.bulkywaste.models import (
    Booking,
    CatalogueEntry,
    CostRates,
    DayPlan,
    DumpingReport,
    FeeSchedule,
    ServiceArea,
    UnloadSite,
    Vehicle,
)
from gongzhi.core import pii


class ConfigAdmin(admin.ModelAdmin):
    def save_model(self, request, obj, form, change):
        actions.save_config(obj, actor=request.user)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CatalogueEntry)
class CatalogueEntryAdmin(ConfigAdmin):
    list_display = [
        "code",
        "name",
        "category",
        "typical_weight_kg",
        "typical_volume_m3",
        "typical_length_m",
        "price",
        "active",
    ]
    list_filter = ["category", "active"]


@admin.register(FeeSchedule)
class FeeScheduleAdmin(ConfigAdmin):
    list_display = ["effective_from", "mode", "flat_amount", "default_item_price", "note"]


@admin.register(CostRates)
class CostRatesAdmin(ConfigAdmin):
    list_display = ["effective_from", "vehicle_km", "crew_hour", "disposal_kg"]


@admin.register(ServiceArea)
class ServiceAreaAdmin(ConfigAdmin):
    list_display = ["name", "daily_stops", "daily_volume_litres", "workdays_only", "cutoff_time", "active"]
    raw_id_fields = ["node"]


@admin.register(Vehicle)
class VehicleAdmin(ConfigAdmin):
    list_display = ["name", "plate", "area", "volume_litres", "weight_kg", "shift_start", "shift_end", "active"]
    list_filter = ["area"]
    filter_horizontal = ["crew"]


@admin.register(UnloadSite)
class UnloadSiteAdmin(ConfigAdmin):
    list_display = ["name", "kind", "area", "unload_minutes", "opens", "closes", "active"]
    list_filter = ["area", "kind"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Booking)
class BookingAdmin(ReadOnlyAdmin):
    list_display = ["reference", "day", "area", "status", "channel", "urgent", "item_count", "masked_phone"]
    list_filter = ["status", "channel", "urgent"]
    search_fields = ["reference"]
    show_full_result_count = False
    exclude = ["contact_phone", "contact_name", "rating_token", "idempotency_key"]

    @admin.display(description="联系电话")
    def masked_phone(self, obj):
        return pii.mask_phone(obj.contact_phone)


@admin.register(DayPlan)
class DayPlanAdmin(ReadOnlyAdmin):
    list_display = ["area", "day", "status", "version", "planned_at", "matrix"]


@admin.register(DumpingReport)
class DumpingReportAdmin(ReadOnlyAdmin):
    list_display = ["reference", "status", "area", "created_at"]
    list_filter = ["status"]
    exclude = ["reporter_phone"]
    show_full_result_count = False
