"""Admin: sessions with their event log, runs, the proactive ledger, and "Try it": one test message to a
character through the real turn pipeline, with the reply, the appraisal and the emotion change shown inline."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.http import urlencode

from apps.characters import selectors as character_selectors
from apps.characters.errors import CharacterNotFound
from apps.conversations import selectors, services
from apps.conversations.models import Event, ProactiveSend, Run, Session
from apps.core.admin_scoping import TenantScopedAdmin, TenantScopedInline, admin_scope
from apps.core.errors import ApplicationError
from apps.llm import selectors as llm_selectors
from apps.personas import selectors as persona_selectors

TRY_USER_REF_PREFIX = "admin-try:"


class TryMessageForm(forms.Form):
    text = forms.CharField(
        label="Message",
        max_length=settings.MESSAGE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80, "autofocus": True}),
        help_text="Sent as an end-user of the character's app would send it: one real turn, metered like any other.",
    )


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


class EventInline(TenantScopedInline, admin.TabularInline):
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
class SessionAdmin(TenantScopedAdmin, admin.ModelAdmin):
    app_path = "app"
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

    # -- Try it ---------------------------------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view(self.try_view)
        return [path("try/<str:character_id>/", view, name="character_try"), *super().get_urls()]

    def _can_try(self, request, character) -> bool:
        """Who may send a character test messages (the turn is metered against the character's app): superusers,
        and staff bound to the character's app (``admin_scope``)."""
        scope = admin_scope(request)
        return scope.everything or scope.app_id == character.app_id

    def _try_character(self, request, character_id: str):
        try:
            character = character_selectors.character_by_id_get(character_id=character_id)
        except CharacterNotFound as error:
            raise Http404(error.message) from error
        if not self._can_try(request, character):
            raise Http404(f"No character '{character_id}'.")  # another app's character looks absent
        return character

    def try_view(self, request, character_id: str):
        """GET: the character and a message box (and, with ``?session=&run=``, that turn's outcome; with
        ``&partial=1`` only the outcome, which the page polls until the turn has finished). POST: send the
        message in the staff user's own session with the character (``admin-try:<username>``, on the current
        version, started after the persona's last edit) through ``message_send``, then show the turn."""
        character = self._try_character(request, character_id)
        app = character.app
        user_ref = f"{TRY_USER_REF_PREFIX}{request.user.get_username()}"
        form = TryMessageForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                session = services.session_latest_or_create(
                    app=app,
                    character_slug=character.slug,
                    external_user_ref=user_ref,
                    started_after=persona_selectors.character_persona_updated_at(character_id=character.pk),
                )
                sent = services.message_send(app=app, session_id=session.pk, text=form.cleaned_data["text"])
            except ApplicationError as error:
                form.add_error("text", error.message)
            else:
                return HttpResponseRedirect(f"{request.path}?{urlencode({'session': session.pk, 'run': sent.run_ref})}")
        turn = None
        session_id, run_id = request.GET.get("session"), request.GET.get("run")
        if session_id and run_id:
            turn = selectors.session_turn_get(app=app, session_id=session_id, run_id=run_id)
            if turn is not None and turn.run.session.character_id != character.pk:
                turn = None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Try {character.display_name}",
            "character": character,
            "version": character.current_version,
            "model": self._try_model(character),
            "form": form,
            "turn": turn,
            "user_ref": user_ref,
        }
        template = "admin/conversations/try_turn.html" if request.GET.get("partial") else "admin/conversations/try.html"
        return TemplateResponse(request, template, context)

    def _try_model(self, character) -> str:
        version = character.current_version
        name = (version.content.get("model") if version is not None else None) or None
        try:
            spec = llm_selectors.model_spec_get(name=name)
        except ApplicationError as error:
            return f"{name} ({error.message})"
        return f"{spec.name} ({spec.provider}{'' if name else ', the default'})"


@admin.register(Run)
class RunAdmin(TenantScopedAdmin, admin.ModelAdmin):
    app_path = "session__app"
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
class EventAdmin(TenantScopedAdmin, admin.ModelAdmin):
    """The event log across sessions, read-only: what a session's cursor, stream and webhooks carried."""

    app_path = "session__app"

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
class ProactiveSendAdmin(TenantScopedAdmin, admin.ModelAdmin):
    """The ledger of scheduled proactive sends (one row per claimed slot), for support questions."""

    app_path = "session__app"

    list_display = ("session", "kind", "slot_at", "sent_at", "run")
    list_filter = ("kind",)
    list_select_related = ("session", "run")
    raw_id_fields = ("session", "run")
    search_fields = ("session__id", "run__id")
    readonly_fields = ("session", "kind", "slot_at", "sent_at", "run")

    def has_add_permission(self, request) -> bool:
        return False
