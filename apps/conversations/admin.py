from django.contrib import admin

from apps.conversations.models import Event, Run, Session


class EventInline(admin.TabularInline):
    model = Event
    extra = 0
    fields = ("cursor", "event_type", "role", "payload", "run", "created_at")
    readonly_fields = fields
    can_delete = False
    ordering = ["-cursor"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("id", "app", "character", "external_user_ref", "last_cursor", "user_turn_count", "created_at")
    search_fields = ("id", "external_user_ref", "character__slug")
    list_select_related = ("app", "character")
    readonly_fields = ("id", "app", "character", "character_version", "last_cursor", "user_turn_count", "created_at")
    inlines = [EventInline]


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("id", "session", "status", "attempts", "model", "latency_ms", "error_code", "created_at")
    list_filter = ("status", "error_code")
    search_fields = ("id", "session__id")
    readonly_fields = [field.name for field in Run._meta.fields]
