"""Reads for characters, always scoped to the asking app (another app's characters look absent)."""

from django.db.models import QuerySet

from apps.accounts.models import App
from apps.characters.errors import CharacterNotFound
from apps.characters.models import Character, CharacterVersion


def character_list(*, app: App) -> QuerySet[Character]:
    return Character.objects.filter(app=app).select_related("current_version").order_by("slug")


def character_get(*, app: App, slug: str) -> Character:
    """Raises CharacterNotFound when the slug is unknown or owned by another app."""
    character = Character.objects.select_related("current_version").filter(app=app, slug=slug).first()
    if character is None:
        raise CharacterNotFound(f"No character with slug '{slug}'.")
    return character


def character_version_list(*, character: Character) -> QuerySet[CharacterVersion]:
    return character.versions.order_by("-version_number")


def character_version_get(*, version_id: str) -> CharacterVersion:
    return CharacterVersion.objects.select_related("character").get(pk=version_id)
