"""Reads for characters, always scoped to the asking app (another app's characters look absent), and the
authoring readiness of a character's current version."""

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from apps.characters.errors import CharacterNotFound, CharacterNotPublished, CharacterVersionNotFound
from apps.characters.lore.engine import ActivatedEntry, LoreActivation, ScanMessage, lore_activate
from apps.characters.models import Character, CharacterVersion
from apps.characters.readiness import readiness_evaluate

# The lore engine is pure (no query): conversations call it through this door with a version's ``lorebooks``.
__all__ = ["ActivatedEntry", "LoreActivation", "ScanMessage", "lore_activate"]

if TYPE_CHECKING:
    from apps.accounts.models import App


def character_list(*, app: "App") -> QuerySet[Character]:
    return Character.objects.filter(app=app).select_related("current_version").order_by("slug")


def character_published_list(*, app: "App") -> QuerySet[Character]:
    """The app's characters that have a published version (what integrators can start something on), by slug."""
    return Character.objects.filter(app=app, current_version__isnull=False).order_by("slug")


def character_get(*, app: "App", slug: str, for_update: bool = False) -> Character:
    """Raises CharacterNotFound when the slug is unknown or owned by another app. ``for_update`` locks the
    character's row until the caller's transaction ends (what serializes work that must happen once per
    character, such as opening an end-user's session)."""
    characters = Character.objects.select_related("current_version")
    if for_update:
        characters = characters.select_for_update(of=("self",))
    character = characters.filter(app=app, slug=slug).first()
    if character is None:
        raise CharacterNotFound(f"No character with slug '{slug}'.")
    return character


def character_get_by_id(*, app: "App", character_id: str) -> Character:
    """The app's character by its id, with its current version. Raises CharacterNotFound for an unknown id and
    for another app's character."""
    character = Character.objects.select_related("current_version").filter(app=app, pk=character_id).first()
    if character is None:
        raise CharacterNotFound(f"No agent with id '{character_id}'.")
    return character


def character_by_id_get(*, character_id: str) -> Character:
    """Any app's character by id, with its app and current version (the admin's pages, which scope by the staff
    user, not by an API key). Raises CharacterNotFound."""
    character = Character.objects.select_related("app", "current_version").filter(pk=character_id).first()
    if character is None:
        raise CharacterNotFound(f"No character with id '{character_id}'.")
    return character


def character_published_get(*, app: "App", slug: str, for_update: bool = False) -> Character:
    """The character with its current version loaded, for starting something on it (``for_update``: its row
    locked, see ``character_get``). Raises CharacterNotFound (also for another app's slug) and
    CharacterNotPublished when no version was ever published."""
    character = character_get(app=app, slug=slug, for_update=for_update)
    if character.current_version is None:
        raise CharacterNotPublished(f"The character '{slug}' has no published version.")
    return character


def character_version_list(*, character: Character) -> QuerySet[CharacterVersion]:
    return character.versions.order_by("-version_number")


def character_version_get(*, version_id: str) -> CharacterVersion:
    return CharacterVersion.objects.select_related("character").get(pk=version_id)


def character_readiness(*, character: Character) -> dict[str, Any]:
    """How complete the current version's content is (``status``, ``score``, ``checks``, ``warnings``); a
    character never published is scored on empty content. No query: the current version is the one loaded."""
    version = character.current_version
    return readiness_evaluate(version.content if version is not None else {})


def character_version_numbered(*, character: Character, number: int) -> CharacterVersion | None:
    """The character's version ``number`` (1 is the first published), or None."""
    return CharacterVersion.objects.filter(character=character, version_number=number).first()


def character_version_history(*, character: Character) -> QuerySet[CharacterVersion]:
    """The versions, newest first, with who published each (one query)."""
    return character.versions.select_related("published_by").order_by("-version_number")


def character_version_of(*, character: Character, version_id: str) -> CharacterVersion:
    """One version of ``character``; raises CharacterVersionNotFound for an unknown id or another character's."""
    version = CharacterVersion.objects.filter(pk=version_id, character=character).first()
    if version is None:
        raise CharacterVersionNotFound(f"No version '{version_id}' of the character '{character.slug}'.")
    return version


def character_content_current(*, character: Character) -> dict[str, Any]:
    """The character's content as a body POST /v1/characters accepts: the current version's, or for a character
    never published its draft (with its slug and name)."""
    if character.current_version is not None:
        return character.current_version.content
    return {**(character.draft or {}), "slug": character.slug, "display_name": character.display_name}
