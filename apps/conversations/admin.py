from django.contrib import admin

from apps.conversations.models import Event, ProactiveSend, Run, Session
from apps.core.admin_scoping import TenantScopedAdmin, TenantScopedInline


class EventInline(TenantScopedInline, admin.TabularInline):
    model = Event
    extra = 0
    fields = ("cursor", "event_type", "role", "payload", "run", "created_at")
    readonly_fields = fields
    can_delete = False
    ordering = ["-cursor"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Session)
class SessionAdmin(TenantScopedAdmin, admin.ModelAdmin):
    app_path = "app"
    list_display = (
        "id",
        "app",
        "character",
        "external_user_ref",
        "last_cursor",
        "user_turn_count",
        "proactive_enabled",
        "proactive_next_due_at",
        "created_at",
    )
    list_filter = ("proactive_enabled",)
    search_fields = ("id", "external_user_ref", "character__slug")
    list_select_related = ("app", "character")
    # The proactive switch, controls, time zone and quiet hours change through PATCH .../proactive-controls,
    # which also reschedules; editing them here would leave the due time stale.
    readonly_fields = (
        "id",
        "app",
        "character",
        "character_version",
        "last_cursor",
        "user_turn_count",
        "proactive_enabled",
        "proactive_controls",
        "timezone",
        "quiet_hours_start",
        "quiet_hours_end",
        "proactive_next_due_at",
        "created_at",
    )
    inlines = [EventInline]


@admin.register(Run)
class RunAdmin(TenantScopedAdmin, admin.ModelAdmin):
    app_path = "session__app"
    list_display = ("id", "session", "status", "attempts", "model", "latency_ms", "error_code", "created_at")
    list_filter = ("status", "error_code")
    search_fields = ("id", "session__id")
    readonly_fields = [field.name for field in Run._meta.fields]


@admin.register(ProactiveSend)
class ProactiveSendAdmin(TenantScopedAdmin, admin.ModelAdmin):
    """The ledger of scheduled proactive sends (one row per claimed slot), for support questions."""

    app_path = "session__app"

    list_display = ("session", "kind", "slot_at", "sent_at", "run")
    list_filter = ("kind",)
    search_fields = ("session__id", "run__id")
    readonly_fields = ("session", "kind", "slot_at", "sent_at", "run")

    def has_add_permission(self, request) -> bool:
        return False
