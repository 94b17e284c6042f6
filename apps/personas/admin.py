"""Admin: the five presets (read-only), characters' personas (a form of presets, sliders and typed inputs,
validated by the engine, with a live preview of what the engine derives) and the emotion sessions (read-only
snapshots of the engine state)."""

import json

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, JsonResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join

from apps.core.admin_scoping import TenantScopedAdmin
from apps.personas import engine
from apps.personas.models import CharacterPersona, PersonaSession
from apps.personas.persona_form import (
    EMOTION_CONFIG_FIELDS,
    CharacterPersonaForm,
    facet_field,
    trait_field,
)
from apps.personas.specs import character_persona_derive, character_persona_validate


def _pretty(value) -> str:
    return format_html("<pre style='white-space: pre-wrap'>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))


@admin.register(CharacterPersona)
class CharacterPersonaAdmin(TenantScopedAdmin, admin.ModelAdmin):
    """A character's persona; new native sessions with the character start from it.

    The page is a form (``persona_form``): preset picker, trait sliders with facets folded under each,
    identity, goals, emotion-config options and the JSON of anything else. As the writer edits, the page
    posts the inputs to ``preview/`` (``personas_characterpersona_preview``), which answers with the emotion
    config and resting mood the engine derives, or the field errors, without saving anything.
    """

    app_path = "character__app"

    form = CharacterPersonaForm
    change_form_template = "admin/personas/characterpersona/change_form.html"
    list_display = ("character", "preset", "updated_at")
    list_select_related = ("character",)
    search_fields = ("character__slug", "character__display_name")
    autocomplete_fields = ("character",)
    readonly_fields = ("resolved", "presets_link", "try_link", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("character", "preset", "presets_link", "try_link")}),
        (
            "Identity",
            {
                "fields": (
                    "identity_name",
                    "identity_speaking_style",
                    "identity_role",
                    "identity_language",
                    "identity_core_values",
                )  # fmt: skip
            },
        ),
        ("Goals", {"fields": ("goals",)}),
        (
            "Emotion config",
            {
                "fields": tuple(EMOTION_CONFIG_FIELDS),
                "description": "Blank means derived from the personality; the placeholder shows the derived value.",
            },
        ),
        ("JSON", {"fields": ("extra",)}),
        ("Saved", {"fields": ("resolved", "created_at", "updated_at")}),
    )

    @admin.display(description="preset")
    def preset(self, obj: CharacterPersona) -> str:
        return (obj.spec or {}).get("preset") or "custom"

    @admin.display(description="presets")
    def presets_link(self, obj) -> str:
        return format_html('<a href="{}">The five presets and their derived emotion config</a>',
                           reverse("admin:personas_presets"))  # fmt: skip

    @admin.display(description="resolved persona (before the character's own fields)")
    def resolved(self, obj: CharacterPersona) -> str:
        if obj is None or obj.pk is None:
            return "—"
        try:
            return _pretty(character_persona_validate(obj.spec or {}))
        except (engine.EngineInputInvalid, engine.UnknownPreset) as error:
            return str(error)

    @admin.display(description="try it")
    def try_link(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "Save the persona, then send the character a test message."
        try:
            url = reverse("admin:character_try", args=[obj.character_id])
        except NoReverseMatch:  # the conversations admin is not installed
            return "—"
        return format_html('<a href="{}" id="persona-try-link">Try it: send {} a test message</a>', url, obj.character)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("presets/", wrap(self.presets_view), name="personas_presets"),
            path("preview/", wrap(self.preview_view), name="personas_characterpersona_preview"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        context["persona_traits"] = [
            (form[trait_field(domain)], [form[facet_field(facet)] for facet in engine.FACETS[domain]])
            for domain in engine.DOMAINS
        ]
        context["persona_presets"] = {
            preset.id: {"personality": dict(preset.personality), "goals": list(preset.goals)}
            for preset in engine.PRESETS.values()
        }
        context["persona_neutral_trait"] = engine.NEUTRAL_TRAIT
        context["persona_preview_url"] = reverse("admin:personas_characterpersona_preview")
        return super().render_change_form(request, context, add, change, form_url, obj)

    def preview_view(self, request):
        """POST the page's inputs: the body they make and what the engine derives from it (emotion config,
        resting mood), or the field errors (400). Saves nothing. The character's ``emotion_baseline``, when it
        has a published version, is the resting mood unless the persona sets its own, as in a session."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        form = self.get_form(request)(data=request.POST)
        form.is_valid()
        errors = {name: list(found) for name, found in form.errors.items() if name != "character"}
        if errors:
            return JsonResponse({"ok": False, "errors": errors}, status=400)
        character = form.cleaned_data.get("character")
        version = character.current_version if character is not None else None
        content = version.content if version is not None else None
        return JsonResponse({"ok": True, "spec": form.spec, **character_persona_derive(form.spec, content)})

    def presets_view(self, request):
        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    preset["id"],
                    preset["name"],
                    preset["description"],
                    ", ".join(f"{key} {value}" for key, value in preset["personality"].items()),
                    "; ".join(preset["goals"]),
                    _pretty(preset["emotion_config"]),
                )
                for preset in engine.presets_list()
            ),
        )
        table = format_html(
            "<table><thead><tr><th>id</th><th>name</th><th>description</th><th>traits (Big Five; H = {})</th>"
            "<th>goals</th><th>derived emotion_config</th></tr></thead><tbody>{}</tbody></table>",
            engine.NEUTRAL_TRAIT,
            rows,
        )
        context = {**self.admin_site.each_context(request), "title": "Persona presets", "content": table}
        return TemplateResponse(request, "admin/personas/presets.html", context)


@admin.register(PersonaSession)
class PersonaSessionAdmin(TenantScopedAdmin, admin.ModelAdmin):
    """Emotion sessions (molroo's and those behind native conversations), read-only."""

    app_path = "app"

    list_display = ("id", "app", "preset", "emotion", "turn_count", "proactive_enabled", "last_turn_at", "created_at")
    list_select_related = ("app",)
    list_filter = ("preset", "proactive_enabled", "app")
    show_full_result_count = False
    search_fields = ("id", "app__name")
    readonly_fields = (
        "id", "app", "preset", "turn_count", "last_turn_at", "created_at", "persona_pretty", "config_pretty",
        "state_pretty", "relationship_pretty",
    )  # fmt: skip
    fields = readonly_fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="emotion")
    def emotion(self, obj: PersonaSession) -> str:
        discrete = (obj.state or {}).get("discrete_emotion") or {}
        return f"{discrete.get('primary', '?')} ({discrete.get('intensity', 0):.2f})"

    @admin.display(description="persona")
    def persona_pretty(self, obj):
        return _pretty(obj.persona)

    @admin.display(description="emotion config")
    def config_pretty(self, obj):
        return _pretty(obj.config)

    @admin.display(description="state")
    def state_pretty(self, obj):
        return _pretty(obj.state)

    @admin.display(description="relationship")
    def relationship_pretty(self, obj):
        return _pretty(obj.relationship)
