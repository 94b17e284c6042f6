"""The characters admin: the character page as a writers' form (``forms``), its readiness checklist, explicit
"Save draft" and "Publish as version N", the version history with a diff between any two versions and a
rollback (``versions``), and the JSON export.

All writes go through ``services`` (the same as the API's): the form only turns posted fields into content and
shows ``content_validate``'s errors beside them.
"""

import json

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.http import HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from apps.characters import selectors, services
from apps.characters.models import Character, CharacterVersion
from apps.characters.readiness import readiness_evaluate
from apps.core.admin_scoping import TenantScopedAdmin
from apps.core.errors import ApplicationError

from .forms import CharacterAuthoringForm, form_fieldsets
from .lorebooks import LorebookAdmin, lorebook_link
from .parts import field_for_path
from .versions import CharacterVersionViews, export_response

PUBLISH = "_publish"


@admin.register(Character)
class CharacterAdmin(CharacterVersionViews, TenantScopedAdmin, admin.ModelAdmin):
    """Authoring: the draft is edited as a form (or as JSON), saved as a draft, and published explicitly as the
    next immutable version. Querysets come from ``get_queryset`` (per-app scoping can wrap it)."""

    app_path = "app"

    form = CharacterAuthoringForm
    list_display = ("slug", "display_name", "app", "published_version", "readiness", "updated_at")
    search_fields = ("slug", "display_name")
    list_filter = ("app", "readiness_status")  # slugs are unique per app: the same slug can show up once per app
    list_select_related = ("app", "current_version")
    readonly_fields = ("id", "current_version", "lorebooks", "readiness_checklist", "created_at", "updated_at")
    actions = ["publish_draft", "export_json"]

    class Media:
        css = {"all": ["dramatis/character-admin.css"]}
        js = ["dramatis/character-admin.js"]

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, *(("app",) if obj else ()))

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ["app", "editor"] if obj is None else ["app", "readiness_checklist", "editor"]}),
            *form_fieldsets(),
            ("JSON", {"fields": ["content_json"], "classes": ["authoring-json"]}),
        ]
        if obj is not None:
            fieldsets.append(("Lorebooks", {"fields": ["lorebooks"]}))
            fieldsets.append(("Record", {"fields": ["id", "current_version", "created_at", "updated_at"]}))
        placed = {name for _, options in fieldsets for name in options["fields"]}
        # What a subclass adds through get_fields (the assets app's visual readiness) gets a section of its own.
        extra = [name for name in dict.fromkeys(self.get_fields(request, obj)) if name not in placed | {"draft"}]
        return [*fieldsets, ("More about this character", {"fields": extra})] if extra else fieldsets

    @admin.display(description="version", ordering="current_version__version_number")
    def published_version(self, obj: Character):
        return obj.current_version.version_number if obj.current_version else "—"

    @admin.display(description="readiness", ordering="readiness_score")
    def readiness(self, obj: Character):
        return f"{obj.get_readiness_status_display()} ({obj.readiness_score}%)"

    @admin.display(description="lorebooks")
    def lorebooks(self, obj: Character):
        return lorebook_link(obj)

    @admin.display(description="readiness of the draft")
    def readiness_checklist(self, obj: Character):
        report = readiness_evaluate(obj.draft or {})
        checks = format_html_join(
            "",
            '<li class="readiness-check readiness-{}"><a href="#id_{}">{}</a> {}</li>',
            (
                (
                    "passed" if check["passed"] else "missing",
                    field_for_path(check["key"]) or "",
                    check["key"],
                    "✓ passed" if check["passed"] else f"✗ {check['fix']}",
                )
                for check in report["checks"]
            ),
        )
        warnings = format_html_join(
            "", '<li class="readiness-warning">⚠ {}</li>', ((w["message"],) for w in report["warnings"])
        )
        return format_html(
            '<div class="readiness-panel"><p><strong>{}</strong> — {}% ({} of {} checks)</p><ul>{}{}</ul></div>',
            report["status"].replace("_", " "),
            report["score"],
            report["passed"],
            report["total"],
            checks,
            warnings,
        )

    def save_model(self, request, obj, form, change):
        saved = services.character_draft_save(app=obj.app, character=obj if change else None, data=form.content)
        if not change:
            obj.__dict__.update(saved.__dict__)  # the admin goes on (log, redirect) with the created row
        if PUBLISH in request.POST:
            result = services.character_draft_publish(character=obj, published_by=request.user)
            obj.__dict__.update(result.character.__dict__)
            if result.created_version:
                self.message_user(request, f"Published version {result.version.version_number}.", messages.SUCCESS)
            else:
                number = result.version.version_number
                self.message_user(request, f"Nothing changed since version {number}: no new version.", messages.INFO)

    def _stay(self, request, obj):
        return HttpResponseRedirect(reverse("admin:characters_character_change", args=[quote(obj.pk)]))

    def response_add(self, request, obj, post_url_continue=None):
        return self._stay(request, obj) if PUBLISH in request.POST else super().response_add(request, obj)

    def response_change(self, request, obj):
        return self._stay(request, obj) if PUBLISH in request.POST else super().response_change(request, obj)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        current = obj.current_version if obj is not None else None
        context.update(
            next_version_number=(current.version_number if current else 0) + 1,
            try_url=_try_url(obj),
        )
        if obj is not None:
            context["versions"] = list(selectors.character_version_history(character=obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.action(description="Publish draft as a new version")
    def publish_draft(self, request, queryset):
        for character in queryset.select_related("app", "current_version"):
            try:
                result = services.character_draft_publish(character=character, published_by=request.user)
            except ApplicationError as error:
                self.message_user(request, f"{character.slug}: {error.message}", messages.ERROR)
                continue
            verb = "published" if result.created_version else "unchanged at"
            self.message_user(request, f"{character.slug}: {verb} version {result.version.version_number}.")

    @admin.action(description="Export as JSON")
    def export_json(self, request, queryset):
        characters = list(queryset.select_related("current_version").order_by("slug"))
        contents = [selectors.character_content_current(character=character) for character in characters]
        filename = f"{characters[0].slug}.json" if len(characters) == 1 else "characters.json"
        return export_response(contents, filename)


__all__ = ["CharacterAdmin", "CharacterVersionAdmin", "LorebookAdmin"]


def _try_url(obj: Character | None) -> str | None:
    """The "Try it" page of the conversations admin, when it is installed."""
    if obj is None:
        return None
    try:
        return reverse("admin:character_try", args=[obj.pk])
    except NoReverseMatch:
        return None


@admin.register(CharacterVersion)
class CharacterVersionAdmin(TenantScopedAdmin, admin.ModelAdmin):
    app_path = "character__app"
    list_display = ("character", "version_number", "published_by", "published_via", "created_at")
    list_select_related = ("character", "published_by")
    list_filter = ("character__app",)
    search_fields = ("character__slug",)
    readonly_fields = (
        "id",
        "character",
        "version_number",
        "published_by",
        "published_via",
        "content_pretty",
        "content_hash",
        "created_at",
    )
    exclude = ("content",)

    @admin.display(description="content")
    def content_pretty(self, obj: CharacterVersion):
        return format_html("<pre>{}</pre>", json.dumps(obj.content, indent=2, ensure_ascii=False))

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
