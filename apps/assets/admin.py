"""The admin for visual assets, and the character page's share of them.

Authors upload through the same service and checks as the API (``visual_asset_upload``: decoding, limits,
metadata stripped, the identity rules), promote and retire with admin actions (``visual_asset_promote`` /
``visual_asset_retire``), and see each character's assets as thumbnails with the three selfie gates on the
character's own page. ``characters`` sits below ``assets`` and cannot import it, so this module extends the
character admin that ``characters`` registered (a subclass registered in its place) with an inline of assets
and a readiness field, instead of the character admin reaching up; Character Card import and export join it the
same way (``card_admin``).

Pictures are shown through signed, expiring URLs (``selectors.file_url_signed``), the same door the API uses:
the media folder is never served directly.
"""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from apps.assets import selectors, services
from apps.assets.card_admin import CharacterCardAdmin
from apps.assets.models import GeneratedImage, VisualAsset
from apps.core.admin_scoping import TenantScopedAdmin, TenantScopedInline
from apps.core.errors import ApplicationError, ValidationFailed

# The character model, reached as the target of the asset's foreign key (another app's models are imported only
# by a models module, for foreign keys: see the import contracts).
Character = VisualAsset._meta.get_field("character").related_model
THUMBNAIL_PIXELS = 96


def _thumbnail_html(asset: VisualAsset | GeneratedImage, size: int = THUMBNAIL_PIXELS):
    if not asset.pk or not (asset.thumbnail or asset.file):
        return "—"
    url = selectors.file_url_signed(asset.thumbnail or asset.file).url
    label = asset.label or asset.asset_key if isinstance(asset, VisualAsset) else asset.prompt_summary or asset.id
    return format_html(
        '<img src="{}" alt="{}" class="visual-asset-thumbnail" style="max-width:{}px;max-height:{}px">',
        url,
        label,
        size,
        size,
    )


class VisualAssetUploadForm(forms.ModelForm):
    """The add form: every field goes to ``visual_asset_upload``, which writes the row and the files; its
    refusals (a rejected image, identity first, a used key) come back as form errors."""

    character = forms.ModelChoiceField(queryset=Character.objects.select_related("app").order_by("app__name", "slug"))
    upload = forms.FileField(
        label="Image", help_text="PNG, JPEG or WebP; checked by decoding it. EXIF and other metadata are stripped."
    )
    asset_key = forms.CharField(max_length=128, help_text="Unique per character, e.g. luna-face.")
    category = forms.ChoiceField(choices=VisualAsset.Category.choices, initial=VisualAsset.Category.IDENTITY)
    label = forms.CharField(max_length=200, required=False)
    visual_summary = forms.CharField(max_length=500, required=False)
    visual_description = forms.CharField(widget=forms.Textarea, required=False)
    provenance = forms.CharField(max_length=500, required=False)
    license = forms.CharField(max_length=200, required=False)

    class Meta:
        model = VisualAsset
        fields = ()

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        character = data["character"]
        try:
            written = services.visual_asset_upload(
                app=character.app,
                character=character,
                file=data["upload"],
                asset_key=data["asset_key"],
                category=data["category"],
                label=data["label"],
                visual_summary=data["visual_summary"],
                visual_description=data["visual_description"],
                provenance=data["provenance"],
                license=data["license"],
            )
        except ValidationFailed as error:
            for name, problems in error.fields.items():
                self.add_error(name if name in self.fields and name != "file" else "upload", problems)
            return data
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from error
        self.instance = written.asset
        self.retired = written.retired
        return data


@admin.register(VisualAsset)
class VisualAssetAdmin(TenantScopedAdmin, admin.ModelAdmin):
    app_path = "app"
    list_display = ("thumbnail_preview", "asset_key", "character", "category", "status", "promotion", "created_at")
    list_display_links = ("thumbnail_preview", "asset_key")
    list_filter = ("category", "status", "character__app")
    search_fields = ("asset_key", "label", "character__slug")
    list_select_related = ("character",)
    actions = ["promote", "retire"]
    readonly_fields = (
        "id",
        "preview",
        "character",
        "asset_key",
        "category",
        "status",
        "promotion",
        "content_type",
        "width",
        "height",
        "byte_size",
        "sha256",
        "source_url",
        "provenance",
        "license",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields[:7] + ("label", "visual_summary", "visual_description") + readonly_fields[7:]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = VisualAssetUploadForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(VisualAssetUploadForm.base_fields)
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if character_id := request.GET.get("character"):
            initial["character"] = character_id
        return initial

    def save_model(self, request, obj, form, change):
        if change:  # label and descriptions only; everything else is read-only
            super().save_model(request, obj, form, change)
        elif getattr(form, "retired", None) is not None:
            self.message_user(request, f"The previous identity {form.retired.asset_key} was retired.")

    @admin.display(description="thumbnail")
    def thumbnail_preview(self, obj: VisualAsset):
        return _thumbnail_html(obj, 64)

    @admin.display(description="picture")
    def preview(self, obj: VisualAsset):
        return _thumbnail_html(obj, 256)

    def _each(self, request, queryset, service, verb: str) -> None:
        for asset in queryset.select_related("character"):
            try:
                service(app=asset.character.app, character=asset.character, asset_id=asset.id)
            except ApplicationError as error:
                self.message_user(request, f"{asset.asset_key}: {error.message}", messages.ERROR)
                continue
            self.message_user(request, f"{asset.asset_key}: {verb}.")

    @admin.action(description="Promote the selected assets (make them active)")
    def promote(self, request, queryset):
        self._each(request, queryset, services.visual_asset_promote, "promoted")

    @admin.action(description="Retire the selected assets")
    def retire(self, request, queryset):
        self._each(request, queryset, services.visual_asset_retire, "retired")


@admin.register(GeneratedImage)
class GeneratedImageAdmin(TenantScopedAdmin, admin.ModelAdmin):
    """Pictures drawn for sessions (selfies) and probes, read-only: what was asked, what came back, what it cost."""

    app_path = "app"

    list_display = (
        "thumbnail_preview",
        "id",
        "character",
        "app",
        "kind",
        "status",
        "model",
        "error_code",
        "credits",
        "created_at",
    )
    list_display_links = ("thumbnail_preview", "id")
    list_filter = ("status", "kind", "model", "error_code", "app")
    search_fields = ("=id", "=session_id", "=run_ref", "external_user_ref", "character__slug")
    search_help_text = "An image, session or run id (exact), an end-user ref or a character slug."
    list_select_related = ("app", "character")
    date_hierarchy = "created_at"
    show_full_result_count = False
    # The files show through ``preview`` (a signed URL): the media folder is never linked directly.
    readonly_fields = (
        "preview",
        *(field.name for field in GeneratedImage._meta.fields if field.name not in ("file", "thumbnail")),
    )
    exclude = ("file", "thumbnail")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="thumbnail")
    def thumbnail_preview(self, obj: GeneratedImage):
        return _thumbnail_html(obj, 64)

    @admin.display(description="picture")
    def preview(self, obj: GeneratedImage):
        return _thumbnail_html(obj, 256)


class VisualAssetInline(TenantScopedInline, admin.TabularInline):
    """The character's assets on its page: thumbnails with category and status, read-only (uploads, promotions
    and retirements go through the asset admin and its services)."""

    model = VisualAsset
    extra = 0
    fields = ("thumbnail_preview", "asset_key", "category", "status", "promotion", "label")
    readonly_fields = fields
    can_delete = False
    show_change_link = True
    ordering = ["category", "created_at"]
    verbose_name_plural = "visual assets (promote or retire them from the visual asset list)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="thumbnail")
    def thumbnail_preview(self, obj: VisualAsset):
        return _thumbnail_html(obj)


_CharacterAdmin = type(admin.site._registry[Character])


class CharacterWithAssetsAdmin(CharacterCardAdmin, _CharacterAdmin):
    """The characters app's admin, plus the character's visual assets and its visual readiness, and Character
    Card import and export (``card_admin``)."""

    actions = [*_CharacterAdmin.actions, "export_card_png", "export_card_json", "export_card_charx"]

    def get_inlines(self, request, obj):
        # Not on the add page: a character has no assets before it exists (and the add form stays as it was).
        inlines = list(super().get_inlines(request, obj))
        return [*inlines, VisualAssetInline] if obj is not None else inlines

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "visual_readiness", "visual_asset_links")

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        return [*fields, "visual_readiness", "visual_asset_links"] if obj is not None else fields

    @admin.display(description="visual readiness (selfies)")
    def visual_readiness(self, obj: Character):
        readiness = selectors.visual_readiness(character=obj)
        rows = format_html_join(
            "",
            '<li class="visual-gate visual-gate-{}"><strong>{}</strong> {}: {}</li>',
            (
                (
                    "passed" if gate.ok else "missing",
                    "✓" if gate.ok else "✗",
                    gate.name,
                    "passed" if gate.ok else gate.missing,
                )
                for gate in readiness.gates
            ),
        )
        state = "ready" if readiness.ready else "not ready"
        return format_html('<p class="visual-readiness">{}</p><ul style="margin-left:0">{}</ul>', state, rows)

    @admin.display(description="visual assets")
    def visual_asset_links(self, obj: Character):
        add = reverse("admin:assets_visualasset_add") + "?" + urlencode({"character": obj.pk})
        listing = reverse("admin:assets_visualasset_changelist") + "?" + urlencode({"character__id__exact": obj.pk})
        return format_html('<a href="{}">Upload a visual asset</a> · <a href="{}">Promote or retire</a>', add, listing)


admin.site.unregister(Character)
admin.site.register(Character, CharacterWithAssetsAdmin)
