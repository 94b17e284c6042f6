"""The character list's share of Character Cards: an "Import card" page (a button on the list) and "Export card"
actions. They call the same services as the API (``character_card_import`` / ``character_card_export``), so
the checks, limits and error codes are the same.

Scoping follows the rest of the admin (``apps.core.admin_scoping``): a staff user bound to an app imports into
that app only (the app is not even asked); a superuser picks the app; a staff user bound to none cannot import.
Export actions act on the changelist's queryset, which is already scoped.
"""

import io
import zipfile

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.assets import services
from apps.core.admin_scoping import admin_scope, tenant_model
from apps.core.errors import ApplicationError, ValidationFailed


class CardImportForm(forms.Form):
    app = forms.ModelChoiceField(queryset=tenant_model().objects.none(), help_text="The app the character joins.")
    file = forms.FileField(
        label="Card",
        help_text="A PNG card (its 'chara' or 'ccv3' chunk), a JSON card (V1, V2 or V3) or a CHARX zip.",
    )
    slug = forms.CharField(
        max_length=128, required=False, help_text="Leave empty to derive it from the card's name (the first free one)."
    )
    replace = forms.BooleanField(
        required=False, help_text="Publish the card as the next version of the character at this slug, if there is one."
    )

    def __init__(self, *args, scope, **kwargs):
        super().__init__(*args, **kwargs)
        if scope.everything:
            self.fields["app"].queryset = tenant_model().objects.order_by("name")
        else:
            del self.fields["app"]  # a bound staff user imports into their own app, never another


class CharacterCardAdmin:
    """Mixed into the character admin that the assets app registers."""

    change_list_template = "admin/characters/character/change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_card_view)
        return [path("import-card/", view, name="characters_character_import_card"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "card_import_url": reverse("admin:characters_character_import_card")}
        return super().changelist_view(request, extra_context)

    def import_card_view(self, request):
        scope = admin_scope(request)
        if not self.has_add_permission(request) or not (scope.everything or scope.is_bound):
            raise PermissionDenied
        form = CardImportForm(request.POST or None, request.FILES or None, scope=scope)
        if request.method == "POST" and form.is_valid():
            app = form.cleaned_data["app"] if scope.everything else tenant_model().objects.get(pk=scope.app_id)
            try:
                imported = services.character_card_import(
                    app=app,
                    data=form.cleaned_data["file"],
                    slug=form.cleaned_data["slug"] or None,
                    replace=form.cleaned_data["replace"],
                    published_by=request.user,
                    published_via="admin",
                )
            except ValidationFailed as error:
                for name, problems in error.fields.items():
                    form.add_error(name if name in ("slug",) else "file", [f"{error.code}: {p}" for p in problems])
            except ApplicationError as error:
                form.add_error(None, f"{error.code}: {error.message}")
            else:
                character = imported.character
                verb = "Imported" if imported.created else "Replaced"
                self.message_user(
                    request,
                    f"{verb} {character.display_name} ({character.slug}) from a {imported.file_format} card, "
                    f"version {imported.version.version_number}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:characters_character_change", args=[quote(character.pk)]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import a Character Card",
            "form": form,
        }
        return TemplateResponse(request, "admin/characters/character/import_card.html", context)

    def _export(self, request, queryset, file_format: str):
        characters = list(queryset.select_related("app").order_by("slug"))
        try:
            files = [
                services.character_card_export(app=character.app, slug=character.slug, file_format=file_format)
                for character in characters
            ]
        except ApplicationError as error:
            self.message_user(request, error.message, messages.ERROR)
            return None
        if len(files) == 1:
            response = HttpResponse(files[0].data, content_type=files[0].content_type)
            response["Content-Disposition"] = f'attachment; filename="{files[0].filename}"'
            return response
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            for exported in files:
                archive.writestr(exported.filename, exported.data)
        response = HttpResponse(out.getvalue(), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="character-cards-{file_format}.zip"'
        return response

    @admin.action(description="Export as Character Card (PNG)")
    def export_card_png(self, request, queryset):
        return self._export(request, queryset, "png")

    @admin.action(description="Export as Character Card (JSON, V3)")
    def export_card_json(self, request, queryset):
        return self._export(request, queryset, "json")

    @admin.action(description="Export as Character Card (CHARX)")
    def export_card_charx(self, request, queryset):
        return self._export(request, queryset, "charx")
