"""Writes for characters: publish (create or new version), validate, and the admin's draft publish."""

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from apps.accounts import services as accounts_services
from apps.accounts.models import App
from apps.characters.content import content_hash, content_validate
from apps.characters.errors import CharacterSlugTaken
from apps.characters.models import Character, CharacterVersion
from apps.characters.readiness import readiness_evaluate


@dataclass(frozen=True)
class PublishResult:
    character: Character
    version: CharacterVersion
    created_character: bool
    created_version: bool


def character_validate(*, data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Dry run: validate ``data`` and evaluate its readiness without writing anything."""
    content = content_validate(data)
    return content, readiness_evaluate(content)


def _locked_character(app: App, slug: str, display_name: str) -> tuple[Character, bool]:
    """Lock the character row for ``slug``, creating it first if needed; a concurrent create loses cleanly."""
    character = Character.objects.select_for_update().filter(slug=slug).first()
    if character is not None:
        return character, False
    try:
        with transaction.atomic():
            character = Character.objects.create(app=app, slug=slug, display_name=display_name)
    except IntegrityError:
        return Character.objects.select_for_update().get(slug=slug), False
    accounts_services.app_quota_consume(app=app, resource="characters")
    return character, True


@transaction.atomic
def character_publish(*, app: App, data: Any) -> PublishResult:
    """Create a character or publish its next version from authoring ``data``.

    Content identical to the current version keeps that version (idempotent re-post). Locks the character
    row so concurrent publishes number versions without gaps. Raises ValidationFailed,
    CharacterSlugTaken (409) when another app owns the slug, and DemoQuotaExceeded for sandbox caps.
    """
    content = content_validate(data)
    character, created = _locked_character(app, content["slug"], content["display_name"])
    if character.app_id != app.pk:
        raise CharacterSlugTaken(f"The slug '{content['slug']}' belongs to another app.")
    digest = content_hash(content)
    current = character.current_version
    if current is not None and current.content_hash == digest:
        return PublishResult(character, current, created_character=False, created_version=False)
    version = CharacterVersion.objects.create(
        character=character,
        version_number=(current.version_number if current else 0) + 1,
        content=content,
        content_hash=digest,
    )
    character.current_version = version
    character.display_name = content["display_name"]
    character.draft = content
    character.save(update_fields=["current_version", "display_name", "draft", "updated_at"])
    return PublishResult(character, version, created_character=created, created_version=True)


def character_draft_publish(*, character: Character) -> PublishResult:
    """Publish the admin's draft through the same rules as the API (slug and owner are the character's)."""
    data = {**character.draft, "slug": character.slug}
    data.setdefault("display_name", character.display_name)
    return character_publish(app=character.app, data=data)
