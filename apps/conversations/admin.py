from django.contrib import admin, messages

from apps.conversations import services
from apps.conversations.models import Event, ProactiveSend, Run, Session


class SessionModeFilter(admin.SimpleListFilter):
    """Plain conversations apart from NPC play (a session bound to a playthrough)."""

    title = "mode"
    parameter_name = "mode"

    def lookups(self, request, model_admin):
        return (("chat", "chat"), ("npc", "NPC playthrough"))

    def queryset(self, request, queryset):
        if self.value() == "npc":
            return queryset.filter(playthrough__isnull=False)
        if self.value() == "chat":
            return queryset.filter(playthrough__isnull=True)
        return queryset


class EventInline(admin.TabularInline):
    model = Event
    extra = 0
    fields = ("cursor", "event_type", "role", "payload", "run", "created_at")
    readonly_fields = fields
    can_delete = False
    ordering = ["-cursor"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("run")  # the run column, without a query per event

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "app",
        "character",
        "external_user_ref",
        "mode",
        "last_cursor",
        "user_turn_count",
        "proactive_enabled",
        "proactive_next_due_at",
        "created_at",
    )
    list_filter = ("app", SessionModeFilter, "proactive_enabled", "character")
    search_fields = ("external_user_ref", "id", "character__slug")
    search_help_text = "An end-user's ref (as the app sent it), a session id or a character slug."
    list_select_related = ("app", "character")
    show_full_result_count = False  # one row per end-user and character: the biggest table after events
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

    @admin.display(description="mode")
    def mode(self, obj: Session) -> str:
        return "NPC" if obj.playthrough_id else "chat"


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("id", "session", "kind", "status", "error_code", "attempts", "created_at", "duration", "model")
    list_filter = ("status", "error_code", "kind")
    search_fields = ("=id", "=session__id")
    search_help_text = "A run id or a session id (exact)."
    readonly_fields = [field.name for field in Run._meta.fields]
    list_select_related = ("session",)
    raw_id_fields = ("session",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["retry_failed"]

    @admin.display(description="duration")
    def duration(self, obj: Run) -> str:
        if obj.started_at is None or obj.finished_at is None:
            return "—"
        return f"{(obj.finished_at - obj.started_at).total_seconds():.1f} s"

    @admin.action(description="Retry the selected failed runs (a new run for the same message)", permissions=["change"])
    def retry_failed(self, request, queryset):
        run_ids = list(queryset.values_list("id", flat=True))
        retried = services.runs_retry(run_ids=run_ids)
        if retried:
            listed = ", ".join(f"{old} → {new}" for old, new in retried.items())
            self.message_user(request, f"Retried {len(retried)} run(s): {listed}.", messages.SUCCESS)
        skipped = len(run_ids) - len(retried)
        if skipped:
            codes = " or ".join(sorted(services.RETRIABLE_ERROR_CODES))
            self.message_user(
                request,
                f"{skipped} run(s) not retried: only a session's latest turn that failed with {codes} can be.",
                messages.WARNING,
            )


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The event log across sessions, read-only: what a session's cursor, stream and webhooks carried."""

    list_display = ("id", "session", "cursor", "event_type", "role", "run", "created_at")
    list_filter = ("event_type", "role")
    search_fields = ("=session__id", "=run__id")
    search_help_text = "A session id or a run id (exact)."
    list_select_related = ("session", "run")
    readonly_fields = [field.name for field in Event._meta.fields]
    show_full_result_count = False  # the biggest table there is

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ProactiveSend)
class ProactiveSendAdmin(admin.ModelAdmin):
    """The ledger of scheduled proactive sends (one row per claimed slot), for support questions."""

    list_display = ("session", "kind", "slot_at", "sent_at", "run")
    list_filter = ("kind",)
    list_select_related = ("session", "run")
    raw_id_fields = ("session", "run")
    search_fields = ("session__id", "run__id")
    readonly_fields = ("session", "kind", "slot_at", "sent_at", "run")

    def has_add_permission(self, request) -> bool:
        return False
