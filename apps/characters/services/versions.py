"""The one path every published version takes (content publishes, patches, rollbacks and lorebook saves).

A version's content carries the character's lorebooks under ``lorebooks`` (resolved books, see
``selectors.lorebooks_resolved_for``): the turn reads them from the version it already loads. The content API
does not own that key: ``content_validate`` drops it from bodies, and a content publish keeps the current
version's books. Only the lorebook services pass new ones.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apps.characters import selectors
from apps.characters.content import content_hash
from apps.characters.models import Character, CharacterVersion
from apps.characters.readiness import readiness_evaluate

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

LOREBOOKS_KEY = "lorebooks"


@dataclass(frozen=True)
class PublishResult:
    character: Character
    version: CharacterVersion
    created_character: bool
    created_version: bool
    dropped_fields: tuple[str, ...] = ()  # top-level fields the previous current version had and this one lacks


def _readiness_store(character: Character, content: dict[str, Any]) -> None:
    report = readiness_evaluate(content)
    character.readiness_status, character.readiness_score = report["status"], report["score"]


def _lorebooks_for(character: Character, *, created: bool) -> list[dict[str, Any]]:
    """The books a content publish keeps: the current version's (no query), none for a new character, and for a
    character never published the books saved meanwhile (read from their rows)."""
    if created:
        return []
    if character.current_version is not None:
        return character.current_version.content.get(LOREBOOKS_KEY, [])
    return selectors.lorebooks_resolved_for(character_ids=[character.id])[character.id]


def _version_publish(
    character: Character,
    content: dict[str, Any],
    *,
    created: bool,
    published_by: "AbstractBaseUser | None" = None,
    published_via: str = "",
    lorebooks: list[dict[str, Any]] | None = None,
) -> PublishResult:
    """Make ``content`` the locked character's next version, or keep the current one when nothing changed.

    ``lorebooks`` are the books the version carries (under the ``lorebooks`` key, left out when there are none);
    None keeps the character's current books. The draft never holds them: they are edited as books.
    """
    authored = {name: value for name, value in content.items() if name != LOREBOOKS_KEY}
    books = lorebooks if lorebooks is not None else _lorebooks_for(character, created=created)
    content = {**authored, LOREBOOKS_KEY: books} if books else authored
    digest = content_hash(content)
    current = character.current_version
    if current is not None and current.content_hash == digest:
        return PublishResult(character, current, created_character=False, created_version=False)
    version = CharacterVersion.objects.create(
        character=character,
        version_number=(current.version_number if current else 0) + 1,
        content=content,
        content_hash=digest,
        published_by=published_by,
        published_via=published_via,
    )
    character.current_version = version
    character.display_name = content["display_name"]
    character.draft = authored
    _readiness_store(character, authored)
    character.save(
        update_fields=[
            "current_version",
            "display_name",
            "draft",
            "readiness_status",
            "readiness_score",
            "updated_at",
        ]
    )
    dropped = sorted(set(current.content) - set(content) - {LOREBOOKS_KEY}) if current is not None else []
    return PublishResult(
        character, version, created_character=created, created_version=True, dropped_fields=tuple(dropped)
    )
