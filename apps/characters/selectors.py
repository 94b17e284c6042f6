"""Reads for characters, always scoped to the asking app (another app's characters look absent), and the
authoring readiness of a character's current version."""

from typing import TYPE_CHECKING, Any

from django.db.models import Count, Prefetch, Q, QuerySet

from apps.characters.errors import (
    CharacterNotFound,
    CharacterNotPublished,
    CharacterVersionNotFound,
    LorebookNotFound,
)
from apps.characters.lore.book import book_revision
from apps.characters.lore.engine import ActivatedEntry, LoreActivation, ScanMessage, lore_activate
from apps.characters.models import Character, CharacterVersion, Lorebook, LorebookEntry
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


def character_slugs_taken(*, app: "App", base: str) -> set[str]:
    """The app's slugs that are ``base`` or ``base-<anything>`` (what a new slug derived from ``base`` must
    avoid), in one query."""
    return set(
        Character.objects.filter(Q(slug=base) | Q(slug__startswith=f"{base}-"), app=app).values_list("slug", flat=True)
    )


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


# --- lorebooks -------------------------------------------------------------------------------------------------
_ENTRY_OPTIONAL = ("selective", "probability", "case_sensitive", "priority")  # left out when null, as when sent


def _entry_card(row: LorebookEntry) -> dict[str, Any]:
    card: dict[str, Any] = {
        "id": row.entry_id,
        "keys": row.keys,
        "secondary_keys": row.secondary_keys,
        "selective_logic": row.selective_logic,
        "content": row.content,
        "constant": row.constant,
        "enabled": row.enabled,
        "insertion_order": row.insertion_order,
        "position": row.position,
        "comment": row.comment,
        "name": row.name,
        "use_regex": row.use_regex,
        "extensions": row.extensions,
    }
    card.update({name: getattr(row, name) for name in _ENTRY_OPTIONAL if getattr(row, name) is not None})
    return card


def lorebook_card(*, lorebook: Lorebook, entries: list[LorebookEntry] | None = None) -> dict[str, Any]:
    """The book as a Character Card V2 ``character_book`` object (what PUT accepts back), entries in book order.
    ``entries`` default to the prefetched ``lorebook.entries``."""
    rows = entries if entries is not None else list(lorebook.entries.all())
    card: dict[str, Any] = {"name": lorebook.name, "description": lorebook.description}
    for name in ("scan_depth", "token_budget", "recursive_scanning"):
        if getattr(lorebook, name) is not None:
            card[name] = getattr(lorebook, name)
    card["extensions"] = lorebook.extensions
    card["entries"] = [_entry_card(row) for row in sorted(rows, key=lambda row: row.ordinal)]
    return card


def lorebook_resolved(*, lorebook: Lorebook, entries: list[LorebookEntry] | None = None) -> dict[str, Any]:
    """The book as a character version carries it under ``lorebooks``: the Card V2 object plus ``id``,
    ``shared`` and ``revision`` (a digest of the rest, which the engine caches compiled books by)."""
    book = {"id": lorebook.id, "shared": lorebook.owner_id is None, **lorebook_card(lorebook=lorebook, entries=entries)}
    return {**book, "revision": book_revision(book)}


def _with_entries(books: QuerySet[Lorebook]) -> QuerySet[Lorebook]:
    return books.prefetch_related(Prefetch("entries", queryset=LorebookEntry.objects.order_by("ordinal")))


def lorebooks_resolved_for(*, character_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each character's books as its next version must carry them: its own book first, then the shared books
    attached to it by name; books without an enabled entry are left out. Three queries for any number of
    characters (attachments, books, entries)."""
    links = list(
        Lorebook.characters.through.objects.filter(character_id__in=character_ids).values_list(
            "character_id", "lorebook_id"
        )
    )
    books = _with_entries(Lorebook.objects.filter(Q(owner_id__in=character_ids) | Q(pk__in=[b for _, b in links])))
    by_id = {book.id: book for book in books}
    resolved = {
        book_id: lorebook_resolved(lorebook=book)
        for book_id, book in by_id.items()
        if any(entry.enabled for entry in book.entries.all())
    }
    found: dict[str, list[dict[str, Any]]] = {character_id: [] for character_id in character_ids}
    for book in by_id.values():
        if book.owner_id in found and book.id in resolved:
            found[book.owner_id].append(resolved[book.id])
    shared = sorted(links, key=lambda link: (by_id[link[1]].name, link[1]))
    for character_id, book_id in shared:
        if book_id in resolved:
            found[character_id].append(resolved[book_id])
    return found


def lorebook_own_get(*, character: Character) -> Lorebook | None:
    """The character's own book with its entries, or None when it never had one."""
    return _with_entries(Lorebook.objects.filter(owner=character)).first()


def lorebook_attached_list(*, character: Character) -> QuerySet[Lorebook]:
    """The shared books attached to the character, by name, each with its ``entry_count``."""
    return Lorebook.objects.filter(characters=character).annotate(entry_count=Count("entries")).order_by("name", "id")


def lorebook_list(*, app: "App") -> QuerySet[Lorebook]:
    """The app's shared books by name, with their entries and the slugs of the characters they are attached to."""
    return _with_entries(Lorebook.objects.filter(app=app, owner__isnull=True)).prefetch_related(
        Prefetch("characters", queryset=Character.objects.only("id", "slug").order_by("slug"))
    )


def lorebook_get(*, app: "App", lorebook_id: str) -> Lorebook:
    """One of the app's shared books with its entries and attached characters. Raises LorebookNotFound for an
    unknown id, another app's book, and a character's own book (that one is reached through its character)."""
    book = lorebook_list(app=app).filter(pk=lorebook_id).first()
    if book is None:
        raise LorebookNotFound(f"No shared lorebook with id '{lorebook_id}'.")
    return book
