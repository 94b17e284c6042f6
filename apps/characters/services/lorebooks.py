"""Writes for lorebooks: a character's own book, shared books, attaching shared books to characters.

Every write publishes, in its own transaction, the next version of every published character that uses the
changed book (``_characters_republish``); the content hash keeps the current version when the books came out
the same. A character never published keeps its books in the rows until its first publish picks them up.

Locks are taken in one order, shared books before characters before a character's own book, so two writes
that meet (saving a shared book while a character attaches it) wait for each other instead of deadlocking, and
the later one always sees the earlier one's rows.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction

from apps.characters import selectors
from apps.characters.errors import CharacterNotFound, LorebookNameTaken, LorebookNotFound
from apps.characters.lore.body import book_body_validate
from apps.characters.models import Character, Lorebook, LorebookEntry
from apps.characters.services.versions import PublishResult, _version_publish
from apps.core.errors import ValidationFailed

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from apps.accounts.models import App

_BOOK_FIELDS = ("name", "description", "scan_depth", "token_budget", "recursive_scanning", "extensions")
_ENTRY_FIELDS = tuple(
    f.name for f in LorebookEntry._meta.concrete_fields if f.name not in {"id", "lorebook", "entry_id", "ordinal"}
)


@dataclass(frozen=True)
class LorebookSaved:
    """A saved book (None once deleted) with its new entries, the characters that use it (locked, in id order)
    and the publish of each of those that was ever published, by character id."""

    lorebook: Lorebook | None
    entries: list[LorebookEntry] = field(default_factory=list)
    characters: list[Character] = field(default_factory=list)
    published: dict[str, PublishResult] = field(default_factory=dict)


def _book_write(book: Lorebook, body: dict[str, Any]) -> list[LorebookEntry]:
    """Store ``body`` (a validated book) as ``book``'s fields and its whole list of entries."""
    for name in _BOOK_FIELDS:
        setattr(book, name, body.get(name, {} if name == "extensions" else None))
    book.name, book.description = body.get("name", ""), body.get("description", "")
    new = book._state.adding
    book.save()
    if not new:
        book.entries.all().delete()
    return LorebookEntry.objects.bulk_create(
        LorebookEntry(
            lorebook=book,
            entry_id=entry["id"],
            ordinal=ordinal,
            **{name: entry[name] for name in _ENTRY_FIELDS if name in entry},
        )
        for ordinal, entry in enumerate(body["entries"])
    )


def _characters_locked(character_ids: list[str]) -> list[Character]:
    return list(
        Character.objects.select_for_update(of=("self",))
        .select_related("current_version")
        .filter(pk__in=character_ids)
        .order_by("pk")
    )


def _characters_republish(
    characters: list[Character], *, published_by: "AbstractBaseUser | None", published_via: str
) -> dict[str, PublishResult]:
    """Publish the next version of each published character of ``characters`` (locked by the caller) with its
    books as they are now; unchanged books keep the version."""
    if not characters:
        return {}
    books = selectors.lorebooks_resolved_for(character_ids=[character.id for character in characters])
    return {
        character.id: _version_publish(
            character,
            character.current_version.content,
            created=False,
            published_by=published_by,
            published_via=published_via,
            lorebooks=books[character.id],
        )
        for character in characters
        if character.current_version is not None
    }


def _stored_entries(book: Lorebook | None) -> list[tuple[int, list[str], str]]:
    return list(book.entries.values_list("entry_id", "keys", "content")) if book is not None else []


@transaction.atomic
def lorebook_own_put(
    *,
    app: "App",
    slug: str,
    data: Any,
    published_by: "AbstractBaseUser | None" = None,
    published_via: str = "",
) -> LorebookSaved:
    """Replace the character's own book whole with ``data`` (a Card V2 ``character_book``) and publish the
    character's next version (``published``; empty for a character never published, whose first publish takes
    the book). Entry ids sent back are kept; new entries are numbered above the book's ids. Raises
    CharacterNotFound (also for another app's slug) and ValidationFailed (each bad field by its path; nothing is
    written)."""
    characters = Character.objects.select_for_update(of=("self",)).select_related("current_version")
    character = characters.filter(app=app, slug=slug).first()
    if character is None:
        raise CharacterNotFound(f"No character with slug '{slug}'.")
    book = Lorebook.objects.select_for_update().filter(owner=character).first()
    body = book_body_validate(data, existing_entries=_stored_entries(book))
    book = book or Lorebook(app=app, owner=character)
    entries = _book_write(book, body)
    published = _characters_republish([character], published_by=published_by, published_via=published_via)
    return LorebookSaved(book, entries, [character], published)


def _shared_locked(app: "App", lorebook_id: str) -> Lorebook:
    book = Lorebook.objects.select_for_update().filter(app=app, owner__isnull=True, pk=lorebook_id).first()
    if book is None:
        raise LorebookNotFound(f"No shared lorebook with id '{lorebook_id}'.")
    return book


def _shared_write(book: Lorebook, body: dict[str, Any]) -> list[LorebookEntry]:
    try:
        with transaction.atomic():
            return _book_write(book, body)
    except IntegrityError:
        raise LorebookNameTaken(f"Your app already has a shared lorebook named '{body['name']}'.") from None


@transaction.atomic
def lorebook_create(*, app: "App", data: Any) -> LorebookSaved:
    """A new shared book of ``app`` from ``data`` (a Card V2 ``character_book`` with a name unique in the app),
    attached to no character yet. Raises ValidationFailed and LorebookNameTaken (a retried create cannot make a
    second book)."""
    body = book_body_validate(data, shared=True)
    book = Lorebook(app=app)
    return LorebookSaved(book, _shared_write(book, body))


@transaction.atomic
def lorebook_update(
    *,
    app: "App",
    lorebook_id: str,
    data: Any,
    published_by: "AbstractBaseUser | None" = None,
    published_via: str = "",
) -> LorebookSaved:
    """Replace a shared book whole and publish the next version of every character it is attached to, in one
    transaction. Raises LorebookNotFound (also for another app's id), ValidationFailed, LorebookNameTaken."""
    book = _shared_locked(app, lorebook_id)
    body = book_body_validate(data, existing_entries=_stored_entries(book), shared=True)
    entries = _shared_write(book, body)
    characters = _characters_locked(list(book.characters.values_list("id", flat=True)))
    published = _characters_republish(characters, published_by=published_by, published_via=published_via)
    return LorebookSaved(book, entries, characters, published)


@transaction.atomic
def lorebook_delete(
    *,
    app: "App",
    lorebook_id: str,
    published_by: "AbstractBaseUser | None" = None,
    published_via: str = "",
) -> LorebookSaved:
    """Delete a shared book and publish the next version of every character it was attached to (without it).
    Raises LorebookNotFound (also for another app's id)."""
    book = _shared_locked(app, lorebook_id)
    characters = _characters_locked(list(book.characters.values_list("id", flat=True)))
    book.delete()
    published = _characters_republish(characters, published_by=published_by, published_via=published_via)
    return LorebookSaved(None, [], characters, published)


@transaction.atomic
def character_lorebooks_set(
    *,
    app: "App",
    slug: str,
    lorebook_ids: Any,
    published_by: "AbstractBaseUser | None" = None,
    published_via: str = "",
) -> LorebookSaved:
    """Attach exactly ``lorebook_ids`` (the app's shared books) to the character, detaching the others, and
    publish its next version. Raises CharacterNotFound, LorebookNotFound (an id unknown to the app: other apps'
    books look absent) and ValidationFailed (not a list of ids); nothing is written then."""
    character = Character.objects.filter(app=app, slug=slug).first()
    if character is None:
        raise CharacterNotFound(f"No character with slug '{slug}'.")
    if not isinstance(lorebook_ids, list) or not all(isinstance(item, str) for item in lorebook_ids):
        raise ValidationFailed({"lorebook_ids": ["Must be a list of shared lorebook ids."]})
    wanted = list(dict.fromkeys(lorebook_ids))
    current = set(Lorebook.objects.filter(characters=character).values_list("id", flat=True))
    # Shared books first, then the character (see the module's lock order).
    locked = Lorebook.objects.select_for_update().filter(app=app, owner__isnull=True, pk__in={*wanted, *current})
    found = {book.id: book for book in locked.order_by("pk")}
    missing = [book_id for book_id in wanted if book_id not in found]
    if missing:
        raise LorebookNotFound(f"No shared lorebook with id '{missing[0]}'.")
    characters = _characters_locked([character.pk])
    characters[0].shared_lorebooks.set([found[book_id] for book_id in wanted])
    published = _characters_republish(characters, published_by=published_by, published_via=published_via)
    return LorebookSaved(None, [], characters, published)


def lorebook_admin_saved(
    *, lorebook: Lorebook, character_ids: list[str], published_by: "AbstractBaseUser | None" = None
) -> dict[str, PublishResult]:
    """After the admin saved a book's rows (its form and entry inlines, in the admin's transaction): publish the
    next version of its owner and of every character it is, or was until this save, attached to
    (``character_ids`` names those it was attached to before)."""
    ids = {*character_ids, *lorebook.characters.values_list("id", flat=True)}
    if lorebook.owner_id:
        ids.add(lorebook.owner_id)
    return _characters_republish(_characters_locked(sorted(ids)), published_by=published_by, published_via="admin")


@transaction.atomic
def lorebook_admin_delete(*, lorebook: Lorebook, published_by: "AbstractBaseUser | None" = None) -> None:
    """The admin deletes a book (own or shared): its owner and the characters it was attached to get their next
    version without it, in the same transaction."""
    locked = Lorebook.objects.select_for_update().get(pk=lorebook.pk)
    ids = {*locked.characters.values_list("id", flat=True), *([locked.owner_id] if locked.owner_id else [])}
    characters = _characters_locked(sorted(ids))
    locked.delete()
    _characters_republish(characters, published_by=published_by, published_via="admin")
