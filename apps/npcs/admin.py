"""Admin, the writers' tool: NPCs with their machines; a machine with its states, transitions (by priority),
links and variables. Every save is checked by the rules ``creator/save`` applies (``services.npc_check``):
a save that breaks one is rolled back and the problems are shown by their ``/full`` paths. A state added
here gets its default transitions (pass, reject, kick_out). Every save and delete bumps the NPC's cached
scenario reads (``selectors.SCENARIOS``), so the next turn sees the edit.

Every admin of a scenario model derives from ``_ScenarioChecked`` (a test holds it to that), which is where
the check and the bump live: a new admin cannot forget either."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.core.admin_scoping import TenantScopedAdmin, TenantScopedInline
from apps.core.errors import ApplicationError, ValidationFailed
from apps.npcs import selectors, services
from apps.npcs.diagram import machine_mermaid
from apps.npcs.dry_run import MAX_LINES, dry_run_lines, machine_dry_run
from apps.npcs.models import NPC, Machine, MachineLink, Playthrough, State, Transition, Variable

# The vendored Mermaid build the machine pages load (static/vendor/README.md says how it got there).
MERMAID_VERSION = "11.17.2"


def _machine_id(request) -> str | None:
    """The machine id of the admin URL being served; the admin quotes ids in its URLs ("_" is "_5F")."""
    match = request.resolver_match
    object_id = match.kwargs.get("object_id") if match is not None else None
    return unquote(object_id) if object_id is not None else None


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


class MachineInline(TenantScopedInline, admin.TabularInline):
    model = Machine
    fields = ("position", "key", "name", "scoring_mode", "is_entry", "is_published")
    readonly_fields = ("is_published",)  # publishing goes through the machine's Publish button (its checks)
    ordering = ("position", "created_at")
    show_change_link = True
    extra = 0


@admin.register(NPC)
class NPCAdmin(_ScenarioChecked, TenantScopedAdmin, admin.ModelAdmin):
    """An NPC is a character (name, description and identity prompt are its content) with scenarios."""

    app_path = "app"

    list_display = ("id", "character", "app", "is_public", "created_at")
    list_select_related = ("character", "app")
    list_filter = ("is_public", "app")
    search_fields = ("id", "character__display_name", "app__name")
    autocomplete_fields = ("character",)
    readonly_fields = ("id", "created_at", "updated_at")
    fields = ("id", "app", "character", "is_public", "created_at", "updated_at")
    inlines = [MachineInline]

    def _npc_id_of(self, obj: NPC) -> str:
        return obj.pk

    def _npc_of(self, obj: NPC) -> NPC:
        return obj


class StateInline(TenantScopedInline, admin.StackedInline):
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


class TransitionInline(TenantScopedInline, admin.TabularInline):
    model = Transition
    fields = ("priority", "from_state", "to_state", "decision_type", "score_delta", "condition", "matchers")
    ordering = ("priority", "position", "created_at")
    extra = 0

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in ("from_state", "to_state"):
            # Only this machine's states (a new machine has none until it is saved with some).
            kwargs["queryset"] = State.objects.filter(machine_id=_machine_id(request)).order_by("position")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class MachineLinkInline(TenantScopedInline, admin.TabularInline):
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


class VariableInline(TenantScopedInline, admin.TabularInline):
    model = Variable
    fields = ("position", "key", "extraction_prompt")
    ordering = ("position", "created_at")
    extra = 0


class DryRunForm(forms.Form):
    lines = forms.CharField(
        label="Player lines",
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
        help_text=f"One message a line, played from the initial state (at most {MAX_LINES}).",
        error_messages={"required": "Write at least one player line."},
    )
    player_name = forms.CharField(label="Player name", max_length=200, required=False)

    def clean_lines(self) -> list[str]:
        lines = dry_run_lines(self.cleaned_data["lines"])
        if not lines:
            raise forms.ValidationError("Write at least one player line.")
        if len(lines) > MAX_LINES:
            raise forms.ValidationError(f"At most {MAX_LINES} lines a run ({len(lines)} given).")
        return lines


def _publish_problems(error: ValidationFailed) -> list[str]:
    return [f"{path}: {' '.join(found)}" for path, found in error.fields.items()]


@admin.register(Machine)
class MachineAdmin(_ScenarioChecked, TenantScopedAdmin, admin.ModelAdmin):
    """A scenario. Add states first (each gets default pass, reject and kick_out transitions), then adjust
    the transitions; the graph rules (reachable states, a terminal state, no dead ends) apply once the
    machine is published. The page draws the machine (Mermaid, rendered in the browser), dry-runs player
    lines against it (``dry_run``: nothing written, works on drafts) and publishes or unpublishes it through
    ``services.machine_publish``, the one way to publish, since that is where the checks run."""

    app_path = "npc__app"

    list_display = ("key", "name", "npc", "scoring_mode", "is_entry", "is_published")
    list_select_related = ("npc",)
    list_filter = ("is_published", "scoring_mode", "npc__app")
    search_fields = ("key", "name", "npc__id")
    fields = ("npc", "key", "name", "description", "objective", "scoring_mode", "is_entry", "is_published", "position")
    readonly_fields = ("is_published",)
    inlines = [StateInline, TransitionInline, MachineLinkInline, VariableInline]
    actions = ["publish_machines", "unpublish_machines"]

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

    # -- the diagram, the dry run, publishing ---------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/dry-run/", wrap(self.dry_run_view), name="npcs_machine_dry_run"),
            path("<path:object_id>/publish/", wrap(self.publish_view), name="npcs_machine_publish"),
            *super().get_urls(),
        ]

    def _diagram_context(self, machine: Machine, visited=()) -> dict:
        graph = selectors.machine_graph(machine=machine)
        names = {state.key: state.name for state in machine.states.all()}
        return {
            "diagram": machine_mermaid(graph, names=names, visited=visited),
            "mermaid_js": f"vendor/mermaid/{MERMAID_VERSION}/mermaid.min.js",
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        machine = self.get_object(request, unquote(object_id))
        extra_context = dict(extra_context or {})
        if machine is not None and request.method == "GET":
            extra_context |= self._diagram_context(machine)
            extra_context["dry_run_form"] = DryRunForm()
        return super().change_view(request, object_id, form_url, extra_context)

    def _changeable(self, request, object_id) -> Machine:
        machine = self.get_object(request, unquote(object_id))
        if machine is None:
            raise Http404(f"No machine '{object_id}'.")
        if not self.has_change_permission(request, machine):
            raise PermissionDenied
        return machine

    def dry_run_view(self, request, object_id):
        """POST: play the pasted lines through the machine in memory and show the path (writes nothing)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        machine = self._changeable(request, object_id)
        form = DryRunForm(request.POST)
        run, problem = None, ""
        if form.is_valid():
            try:
                run = machine_dry_run(
                    machine=machine, lines=form.cleaned_data["lines"], player_name=form.cleaned_data["player_name"]
                )
            except ApplicationError as error:
                problem = error.message
        context = {
            **self.admin_site.each_context(request),
            **self._diagram_context(machine, visited=run.visited if run else ()),
            "opts": self.opts,
            "original": machine,
            "title": f"Dry run of {machine.key}",
            "dry_run_form": form,
            "run": run,
            "problem": problem,
            "change_url": reverse("admin:npcs_machine_change", args=[quote(machine.pk)]),
        }
        return TemplateResponse(request, "admin/npcs/machine/dry_run.html", context, status=200 if run else 400)

    def publish_view(self, request, object_id):
        """POST ``published=1`` (publish, after the checks) or ``published=0`` (back to a draft)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        machine = self._changeable(request, object_id)
        self._publish(request, machine, published=request.POST.get("published") == "1")
        return HttpResponseRedirect(reverse("admin:npcs_machine_change", args=[quote(machine.pk)]))

    def _publish(self, request, machine: Machine, *, published: bool) -> bool:
        try:
            services.machine_publish(machine_id=machine.pk, published=published)
        except ValidationFailed as error:
            for problem in _publish_problems(error):
                self.message_user(request, f"Machine '{machine.key}': {problem}", messages.ERROR)
            self.message_user(request, f"Machine '{machine.key}' was not published.", messages.WARNING)
            return False
        verb = "published: players can start it" if published else "unpublished: a draft again"
        self.message_user(request, f"Machine '{machine.key}' {verb}.", messages.SUCCESS)
        return True

    @admin.action(description="Publish the selected machines (after the checks)", permissions=["change"])
    def publish_machines(self, request, queryset) -> None:
        for machine in queryset.order_by("npc", "position", "id"):
            self._publish(request, machine, published=True)

    @admin.action(description="Unpublish the selected machines", permissions=["change"])
    def unpublish_machines(self, request, queryset) -> None:
        for machine in queryset.order_by("npc", "position", "id"):
            self._publish(request, machine, published=False)


@admin.register(Playthrough)
class PlaythroughAdmin(TenantScopedAdmin, admin.ModelAdmin):
    """Players' progress, read-only: an app's staff see their app's players (in other apps' public NPCs too),
    never other apps' players in their own public NPCs."""

    app_path = "app"

    list_display = (
        "player_session_id",
        "npc",
        "machine",
        "current_state",
        "score",
        "outcome",
        "started_at",
        "last_message_at",
    )
    list_select_related = ("npc", "machine", "current_state")
    list_filter = ("outcome", "app")
    search_fields = ("player_session_id", "player_name", "npc__id")
    date_hierarchy = "started_at"
    show_full_result_count = False
    readonly_fields = [field.name for field in Playthrough._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
