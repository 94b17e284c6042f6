"""The character page's version pages: the diff between any two versions, "Publish this version again" (the
rollback, POST only) and the JSON export of one character.

A mixin of the character's ModelAdmin, so that its URLs are the admin's (``admin:characters_character_diff``,
``admin:characters_character_republish``, ``admin:characters_character_export``), behind its login, CSRF and
permission checks, and find the character through ``get_queryset`` (what the user may not see is a 404).
"""

import json

from django.contrib import messages
from django.contrib.admin.utils import quote, unquote
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from apps.characters import selectors, services
from apps.characters.errors import CharacterVersionNotFound

from .diff import content_diff


def export_response(contents: list[dict], filename: str) -> HttpResponse:
    """A JSON download: one object for one character, a list for several (each a POST /v1/characters body)."""
    body = contents[0] if len(contents) == 1 else contents
    response = HttpResponse(json.dumps(body, ensure_ascii=False, indent=2), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class CharacterVersionViews:
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/versions/diff/", wrap(self.diff_view), name="characters_character_diff"),
            path(
                "<path:object_id>/versions/<str:version_id>/republish/",
                wrap(require_POST(self.republish_view)),
                name="characters_character_republish",
            ),
            path("<path:object_id>/export/", wrap(self.export_view), name="characters_character_export"),
            *super().get_urls(),
        ]

    def _character(self, request, object_id: str, *, change: bool = False):
        character = self.get_object(request, unquote(object_id))  # the admin's URLs quote ids ("_" is "_5F")
        allowed = self.has_change_permission if change else self.has_view_or_change_permission
        if character is None or not allowed(request, character):
            raise Http404("No such character.")
        return character

    def diff_view(self, request, object_id: str):
        character = self._character(request, object_id)
        try:
            old = selectors.character_version_of(character=character, version_id=request.GET.get("a", ""))
            new = selectors.character_version_of(character=character, version_id=request.GET.get("b", ""))
        except CharacterVersionNotFound as error:
            raise Http404(error.message) from None
        if old.version_number > new.version_number:
            old, new = new, old
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": character,
            "title": f"{character.slug}: version {old.version_number} → version {new.version_number}",
            "old": old,
            "new": new,
            "changes": content_diff(old.content, new.content),
            "change_url": reverse("admin:characters_character_change", args=[quote(character.pk)]),
        }
        return render(request, "admin/characters/character/diff.html", context)

    def republish_view(self, request, object_id: str, version_id: str):
        character = self._character(request, object_id, change=True)
        try:
            result = services.character_version_republish(
                character=character, version_id=version_id, published_by=request.user
            )
        except CharacterVersionNotFound as error:
            raise Http404(error.message) from None
        if result.created_version:
            number = result.version.version_number
            self.message_user(request, f"Published that version's content again as version {number}.", messages.SUCCESS)
        else:
            self.message_user(request, "That is the current content already: no new version.", messages.INFO)
        return HttpResponseRedirect(reverse("admin:characters_character_change", args=[quote(character.pk)]))

    def export_view(self, request, object_id: str):
        character = self._character(request, object_id)
        return export_response([selectors.character_content_current(character=character)], f"{character.slug}.json")
