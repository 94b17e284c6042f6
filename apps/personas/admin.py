"""Admin: the five presets (read-only), characters' personas (editable, validated by the engine) and the
emotion sessions (read-only snapshots of the engine state)."""

import json

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from apps.personas import engine
from apps.personas.models import CharacterPersona, PersonaSession
from apps.personas.specs import character_persona_validate


def _pretty(value) -> str:
    return format_html("<pre style='white-space: pre-wrap'>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))


class CharacterPersonaForm(forms.ModelForm):
    class Meta:
        model = CharacterPersona
        fields = ("character", "spec")
        help_texts = {
            "spec": 'A molroo persona body, e.g. {"preset": "stoic_mentor", "personality": {"N": 0.4}, '
            '"identity": {"speaking_style": "dry"}, "goals": ["..."], "emotion_config": {"regulation": '
            '{"strategy": "reappraisal"}}}. Name, language and resting mood default to the character\'s '
            "display_name, locale and emotion_baseline.",
        }

    def clean_spec(self):
        spec = self.cleaned_data["spec"]
        if not isinstance(spec, dict):
            raise ValidationError("Must be a JSON object.")
        try:
            character_persona_validate(spec)
        except engine.EngineInputInvalid as error:
            raise ValidationError(
                [f"{name}: {' '.join(problems)}" for name, problems in error.fields.items()]
            ) from error
        except engine.UnknownPreset as error:
            raise ValidationError(f"Unknown preset {error.preset!r}; one of: {', '.join(engine.PRESETS)}.") from error
        return spec


@admin.register(CharacterPersona)
class CharacterPersonaAdmin(admin.ModelAdmin):
    """A character's persona; new native sessions with the character start from it."""

    form = CharacterPersonaForm
    list_display = ("character", "preset", "updated_at")
    list_select_related = ("character",)
    search_fields = ("character__slug", "character__display_name")
    autocomplete_fields = ("character",)
    readonly_fields = ("resolved", "presets_link", "created_at", "updated_at")
    fields = ("character", "spec", "presets_link", "resolved", "created_at", "updated_at")

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

    def get_urls(self):
        view = self.admin_site.admin_view(self.presets_view)
        return [path("presets/", view, name="personas_presets"), *super().get_urls()]

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
class PersonaSessionAdmin(admin.ModelAdmin):
    """Emotion sessions (molroo's and those behind native conversations), read-only."""

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
