import json

from django.contrib import admin, messages
from django.utils.html import format_html

from apps.characters import services
from apps.characters.models import Character, CharacterVersion
from apps.characters.readiness import readiness_evaluate
from apps.core.errors import ApplicationError


class CharacterVersionInline(admin.TabularInline):
    model = CharacterVersion
    extra = 0
    fields = ("version_number", "created_at", "content_hash")
    readonly_fields = fields
    can_delete = False
    show_change_link = True
    ordering = ["-version_number"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Character)
class CharacterAdmin(admin.ModelAdmin):
    """Authoring: edit the draft (JSON), then use "Publish draft" to make it the next immutable version."""

    list_display = ("slug", "display_name", "app", "published_version", "updated_at")
    search_fields = ("slug", "display_name", "app__name")
    list_filter = ("app",)  # slugs are unique per app, so the same slug can show up once per app
    list_select_related = ("app", "current_version")
    readonly_fields = ("id", "current_version", "readiness", "created_at", "updated_at")
    fields = ("id", "app", "slug", "display_name", "draft", "readiness", "current_version", "created_at", "updated_at")
    inlines = [CharacterVersionInline]
    actions = ["publish_draft"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("app", "slug") if obj else ())

    @admin.display(description="version")
    def published_version(self, obj: Character):
        return obj.current_version.version_number if obj.current_version else "—"

    @admin.display(description="draft readiness")
    def readiness(self, obj: Character):
        report = readiness_evaluate(obj.draft or {})
        missing = ", ".join(check["key"] for check in report["checks"] if not check["passed"]) or "nothing"
        return format_html("{} ({}%) — missing: {}", report["status"], report["score"], missing)

    @admin.action(description="Publish draft as a new version")
    def publish_draft(self, request, queryset):
        for character in queryset:
            try:
                result = services.character_draft_publish(character=character)
            except ApplicationError as error:
                self.message_user(request, f"{character.slug}: {error.message}", messages.ERROR)
                continue
            verb = "published" if result.created_version else "unchanged at"
            self.message_user(request, f"{character.slug}: {verb} version {result.version.version_number}.")


@admin.register(CharacterVersion)
class CharacterVersionAdmin(admin.ModelAdmin):
    list_display = ("character", "version_number", "created_at")
    search_fields = ("character__slug",)
    list_filter = ("character__app",)
    list_select_related = ("character",)
    readonly_fields = ("id", "character", "version_number", "content_pretty", "content_hash", "created_at")
    exclude = ("content",)

    @admin.display(description="content")
    def content_pretty(self, obj: CharacterVersion):
        return format_html("<pre>{}</pre>", json.dumps(obj.content, indent=2, ensure_ascii=False))

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
