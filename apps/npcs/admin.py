"""Admin, the writers' tool: NPCs with their machines; a machine with its states, transitions (by priority),
links and variables. Every save is checked by the rules ``creator/save`` applies (``services.npc_check``):
a save that breaks one is rolled back and the problems are shown by their ``/full`` paths. A state added
here gets its default transitions (pass, reject, kick_out). Every save and delete bumps the NPC's cached
scenario reads (``selectors.SCENARIOS``), so the next turn sees the edit.

Every admin of a scenario model derives from ``_ScenarioChecked`` (a test holds it to that), which is where
the check and the bump live: a new admin cannot forget either."""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect

from apps.core.errors import ValidationFailed
from apps.npcs import selectors, services
from apps.npcs.models import NPC, Machine, MachineLink, Playthrough, State, Transition, Variable


def _machine_id(request) -> str | None:
    match = request.resolver_match
    return match.kwargs.get("object_id") if match is not None else None


class _Refused(Exception):
    def __init__(self, problems: dict[str, list[str]]) -> None:
        super().__init__("scenario rules broken")
        self.problems = problems


class _ScenarioChecked:
    """Check the NPC's whole scenario set after the form and its inlines are saved: when it breaks a rule, the
    admin's transaction rolls back and the writer goes back to the form with the problems."""

    def _npc_id_of(self, obj) -> str:
        raise NotImplementedError

    def _npc_of(self, obj) -> NPC:
        raise NotImplementedError

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        # The form and its inlines are saved: the bump now, and again when the admin's transaction commits.
        selectors.SCENARIOS.bump(scope=self._npc_id_of(form.instance))
        try:
            services.npc_check(npc=self._npc_of(form.instance))
        except ValidationFailed as error:
            raise _Refused(error.fields) from error  # out of the admin's atomic block, which rolls back

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _Refused as refused:
            for path, found in refused.problems.items():
                self.message_user(request, f"{path}: {' '.join(found)}", messages.ERROR)
            self.message_user(request, "Nothing was saved.", messages.WARNING)
            return HttpResponseRedirect(request.path)

    def delete_model(self, request, obj) -> None:
        npc_id = self._npc_id_of(obj)
        super().delete_model(request, obj)
        selectors.SCENARIOS.bump(scope=npc_id)

    def delete_queryset(self, request, queryset) -> None:
        npc_ids = {self._npc_id_of(obj) for obj in queryset}
        super().delete_queryset(request, queryset)
        for npc_id in npc_ids:
            selectors.SCENARIOS.bump(scope=npc_id)


class MachineInline(admin.TabularInline):
    model = Machine
    fields = ("position", "key", "name", "scoring_mode", "is_entry", "is_published")
    ordering = ("position", "created_at")
    show_change_link = True
    extra = 0


@admin.register(NPC)
class NPCAdmin(_ScenarioChecked, admin.ModelAdmin):
    """An NPC is a character (name, description and identity prompt are its content) with scenarios."""

    list_display = ("id", "character", "app", "is_public", "created_at")
    list_select_related = ("character", "app")
    list_filter = ("is_public",)
    search_fields = ("id", "character__display_name", "app__name")
    autocomplete_fields = ("character",)
    readonly_fields = ("id", "created_at", "updated_at")
    fields = ("id", "app", "character", "is_public", "created_at", "updated_at")
    inlines = [MachineInline]

    def _npc_id_of(self, obj: NPC) -> str:
        return obj.pk

    def _npc_of(self, obj: NPC) -> NPC:
        return obj


class StateInline(admin.StackedInline):
    model = State
    fields = (
        ("position", "key", "name"),
        ("is_initial", "terminal", "redirect_limit"),
        "system_prompt",
        "evaluation_criteria",
        "follow_up_condition",
    )
    ordering = ("position", "created_at")
    extra = 0


class TransitionInline(admin.TabularInline):
    model = Transition
    fields = ("priority", "from_state", "to_state", "decision_type", "score_delta", "condition", "matchers")
    ordering = ("priority", "position", "created_at")
    extra = 0

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in ("from_state", "to_state"):
            # Only this machine's states (a new machine has none until it is saved with some).
            kwargs["queryset"] = State.objects.filter(machine_id=_machine_id(request)).order_by("position")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class MachineLinkInline(admin.TabularInline):
    model = MachineLink
    fk_name = "from_machine"
    verbose_name = "link to a next machine"
    fields = ("to_machine", "condition_type", "condition_value", "auto_advance")
    extra = 0

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "to_machine":
            npc = Machine.objects.filter(pk=_machine_id(request)).values("npc_id")
            kwargs["queryset"] = Machine.objects.filter(npc_id__in=npc).exclude(pk=_machine_id(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class VariableInline(admin.TabularInline):
    model = Variable
    fields = ("position", "key", "extraction_prompt")
    ordering = ("position", "created_at")
    extra = 0


@admin.register(Machine)
class MachineAdmin(_ScenarioChecked, admin.ModelAdmin):
    """A scenario. Add states first (each gets default pass, reject and kick_out transitions), then adjust
    the transitions; the graph rules (reachable states, a terminal state, no dead ends) apply once the
    machine is published."""

    list_display = ("key", "name", "npc", "scoring_mode", "is_entry", "is_published")
    list_select_related = ("npc",)
    list_filter = ("is_published", "scoring_mode")
    search_fields = ("key", "name", "npc__id")
    fields = ("npc", "key", "name", "description", "objective", "scoring_mode", "is_entry", "is_published", "position")
    inlines = [StateInline, TransitionInline, MachineLinkInline, VariableInline]

    def _npc_id_of(self, obj: Machine) -> str:
        return obj.npc_id

    def _npc_of(self, obj: Machine) -> NPC:
        return obj.npc

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is MachineLink:
            for link in formset.save(commit=False):
                link.npc_id = form.instance.npc_id
                link.save()
            for link in formset.deleted_objects:
                link.delete()
            return
        super().save_formset(request, form, formset, change)
        if formset.model is State:
            for state in formset.new_objects:
                services.state_transitions_default(state=state)


@admin.register(Playthrough)
class PlaythroughAdmin(admin.ModelAdmin):
    """Players' progress, read-only."""

    list_display = ("player_session_id", "npc", "machine", "current_state", "score", "outcome", "last_message_at")
    list_select_related = ("npc", "machine", "current_state")
    list_filter = ("outcome",)
    search_fields = ("player_session_id", "npc__id")
    readonly_fields = [field.name for field in Playthrough._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
