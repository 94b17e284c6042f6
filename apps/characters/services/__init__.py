"""Writes for characters: publish (create or new version), patch (merge, then publish), validate, and the admin's
draft save, draft publish and republish of an old version.

Lorebook writes live in ``lorebooks`` (re-exported here) and publish through the same ``versions`` path.

Every write that changes the draft (saving it, or publishing, which makes the published content the draft) also
stores the draft's readiness on the character, so that lists can filter on it.

A version records who published it: ``published_by`` (an admin user) and ``published_via`` ("admin", or
"api:<key prefix>" from the native surface).
"""

import copy
from typing import TYPE_CHECKING, Any

import json_merge_patch
from django.db import IntegrityError, transaction

from apps.accounts import services as accounts_services
from apps.characters import selectors
from apps.characters.content import content_validate
from apps.characters.errors import CharacterExists, CharacterNotFound, CharacterVersionNotFound
from apps.characters.lore.body import book_body_validate
from apps.characters.models import Character, CharacterVersion, Lorebook
from apps.characters.readiness import readiness_evaluate
from apps.characters.services.lorebooks import (
    LorebookSaved,
    _book_write,
    _stored_entries,
    character_lorebooks_set,
    lorebook_admin_delete,
    lorebook_admin_saved,
    lorebook_create,
    lorebook_delete,
    lorebook_own_put,
    lorebook_update,
)
from apps.characters.services.versions import PublishResult, _readiness_store, _version_publish
from apps.core.errors import ValidationFailed

__all__ = [
    "LorebookSaved",
    "PublishResult",
    "character_lorebooks_set",
    "lorebook_admin_delete",
    "lorebook_admin_saved",
    "lorebook_create",
    "lorebook_delete",
    "lorebook_own_put",
    "lorebook_update",
]

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from apps.accounts.models import App


def character_validate(*, data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Dry run: validate ``data`` and evaluate its readiness without writing anything."""
    content = content_validate(data)
    return content, readiness_evaluate(content)


def _locked_character(app: "App", slug: str, display_name: str) -> tuple[Character, bool]:
    """Lock the app's character row for ``slug``, creating it first if needed; a concurrent create loses cleanly.

    Slugs are unique per app, so another app's character with the same slug is never touched or seen.
    """
    character = Character.objects.select_for_update().filter(app=app, slug=slug).first()
    if character is not None:
        return character, False
    try:
        with transaction.atomic():
            character = Character.objects.create(app=app, slug=slug, display_name=display_name)
    except IntegrityError:
        return Character.objects.select_for_update().get(app=app, slug=slug), False
    accounts_services.app_quota_consume(app=app, resource="characters")
    return character, True


@transaction.atomic
def character_publish(
    *, app: "App", data: Any, published_by: "AbstractBaseUser | None" = None, published_via: str = ""
) -> PublishResult:
    """Create a character or publish its next version from authoring ``data``, which replaces the content whole.

    Content identical to the current version keeps that version (idempotent re-post); fields the previous
    version had and ``data`` lacks are named in ``dropped_fields``. Locks the character row so concurrent
    publishes number versions without gaps. Raises ValidationFailed and DemoQuotaExceeded for sandbox caps.
    """
    content = content_validate(data)
    character, created = _locked_character(app, content["slug"], content["display_name"])
    return _version_publish(character, content, created=created, published_by=published_by, published_via=published_via)


@transaction.atomic
def character_publish_with_own_book(
    *,
    app: "App",
    data: Any,
    book: Any,
    must_create: bool = False,
    published_by: "AbstractBaseUser | None" = None,
    published_via: str = "",
) -> PublishResult:
    """Publish ``data`` (the whole content, as ``character_publish``) and ``book`` (a Card V2 ``character_book``
    that replaces the character's own lorebook whole; None: the character has no own book afterwards) as ONE
    version, creating the character when its slug is new: a Character Card's import, where the book is part of
    the character. Shared books attached to the character stay attached.

    ``must_create``: the slug must be new to the app, else CharacterExists (decided under the row's lock, so two
    imports racing for one slug cannot both create). Raises ValidationFailed (content fields by their name, book
    fields under ``character_book.``) and the quota errors of a new character; nothing is written then.
    """
    content = content_validate(data)
    character, created = _locked_character(app, content["slug"], content["display_name"])
    if must_create and not created:
        raise CharacterExists(f"Your app already has a character with the slug '{character.slug}'.")
    # The character's row before its own book's: the lock order of the lorebook services.
    own = None if created else Lorebook.objects.select_for_update().filter(owner=character).first()
    entries = []
    if book is not None:
        try:
            body = book_body_validate(book, existing_entries=_stored_entries(own))
        except ValidationFailed as error:
            raise ValidationFailed({f"character_book.{path}": v for path, v in error.fields.items()}) from None
        own = own or Lorebook(app=app, owner=character)
        entries = _book_write(own, body)
    elif own is not None:
        own.delete()
        own = None
    if not created:
        books = selectors.lorebooks_resolved_for(character_ids=[character.id])[character.id]
    elif own is not None and any(entry.enabled for entry in entries):  # a new character has no shared books yet
        books = [selectors.lorebook_resolved(lorebook=own, entries=entries)]
    else:
        books = []
    return _version_publish(
        character,
        content,
        created=created,
        published_by=published_by,
        published_via=published_via,
        lorebooks=books,
    )


@transaction.atomic
def character_patch(*, app: "App", slug: str, changes: Any, published_via: str = "") -> PublishResult:
    """Merge ``changes`` into the current version's content (JSON Merge Patch, RFC 7396) and publish the result.

    Objects merge key by key, a ``null`` removes the field, anything else (lists included) replaces it. The
    merged content goes through the same validation and versioning as ``character_publish``. A character
    that was never published starts from its slug and display name. Raises CharacterNotFound (also for
    another app's slug) and ValidationFailed (a body that is not an object, a changed slug, invalid content).
    """
    character = Character.objects.select_for_update().filter(app=app, slug=slug).first()
    if character is None:
        raise CharacterNotFound(f"No character with slug '{slug}'.")
    if not isinstance(changes, dict):
        raise ValidationFailed({"body": ["Must be a JSON object."]})
    if "slug" in changes and changes["slug"] != character.slug:
        raise ValidationFailed({"slug": ["The slug cannot change; create a new character with POST /v1/characters."]})
    current = character.current_version
    base = current.content if current is not None else {"slug": character.slug, "display_name": character.display_name}
    content = content_validate(json_merge_patch.merge(copy.deepcopy(base), changes))
    return _version_publish(character, content, created=False, published_via=published_via)


def character_draft_publish(
    *, character: Character, published_by: "AbstractBaseUser | None" = None, published_via: str = "admin"
) -> PublishResult:
    """Publish the admin's draft through the same rules as the API (slug and owner are the character's)."""
    data = {**character.draft, "slug": character.slug}
    data.setdefault("display_name", character.display_name)
    return character_publish(app=character.app, data=data, published_by=published_by, published_via=published_via)


@transaction.atomic
def character_draft_save(*, app: "App", data: Any, character: Character | None = None) -> Character:
    """Keep ``data`` as the draft of ``character`` (or of a new character of ``app``), validated by the same rules
    as a publish, without publishing it: sessions never see a draft.

    A new character is created from the draft's slug and counts against the app's quota; a slug the app already
    has is a ValidationFailed on ``slug``. An existing character keeps its slug (``data``'s is ignored). Raises
    ValidationFailed naming each bad field; nothing is written then.
    """
    if character is not None:
        data = {**data, "slug": character.slug} if isinstance(data, dict) else data
    content = content_validate(data)
    if character is None:
        try:
            with transaction.atomic():
                character = Character.objects.create(
                    app=app, slug=content["slug"], display_name=content["display_name"]
                )
        except IntegrityError:
            raise ValidationFailed({"slug": ["A character with this slug already exists in this app."]}) from None
        accounts_services.app_quota_consume(app=app, resource="characters")
    character.draft = content
    character.display_name = content["display_name"]
    _readiness_store(character, content)
    character.save(update_fields=["draft", "display_name", "readiness_status", "readiness_score", "updated_at"])
    return character


@transaction.atomic
def character_version_republish(
    *,
    character: Character,
    version_id: str,
    published_by: "AbstractBaseUser | None" = None,
    published_via: str = "admin",
) -> PublishResult:
    """The rollback: publish an old version's content again, as the next version (N+1), through the same path as
    any publish. Re-publishing the current version's content keeps it (``created_version`` false). Raises
    CharacterVersionNotFound for a version of another character."""
    locked = Character.objects.select_for_update().get(pk=character.pk)
    version = CharacterVersion.objects.filter(pk=version_id, character=locked).first()
    if version is None:
        raise CharacterVersionNotFound(f"No version '{version_id}' of the character '{locked.slug}'.")
    content = content_validate(copy.deepcopy(version.content))
    return _version_publish(locked, content, created=False, published_by=published_by, published_via=published_via)


# The character a conversation talks to when its client names none (the studio surface's conversations and
# images without an agent): one per app, created on first use, published like any other character, so sessions,
# events and the ledger need no special case. Its slug uses a '.' so it cannot be mistaken for a generated one.
ASSISTANT_SLUG = "builtin.assistant"
ASSISTANT_CONTENT = {
    "slug": ASSISTANT_SLUG,
    "display_name": "Assistant",
    "profile": {"visible_bio": "A plain, helpful conversation partner who answers clearly and briefly."},
}


def assistant_character_ensure(*, app: "App") -> Character:
    """The app's built-in assistant character, published on first use (a concurrent first use publishes once:
    ``character_publish`` locks the row and keeps identical content as the same version)."""
    character = Character.objects.filter(app=app, slug=ASSISTANT_SLUG, current_version__isnull=False).first()
    if character is not None:
        return character
    return character_publish(app=app, data=ASSISTANT_CONTENT, published_via="builtin").character
