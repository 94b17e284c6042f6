"""A ``character_book`` body checked and normalised for storage (pure: no Django, no database).

The declared shape (``types.CHARACTER_BOOK``) checks types and ranges; on top of it this module checks what a
shape cannot say (each regex key compiles, entry ids are unique) and fills in what the engine needs to read the
same way every time:

- ``selective_logic`` becomes a name: the body's, else SillyTavern's ``extensions.selectiveLogic``, else and_any.
- ``selective`` absent with secondary keys given means selective (ST's editor does the same); it stays absent
  without them.
- Entries without an ``id`` take the id of a stored entry with the same keys and content (so sending the same
  id-less body twice changes nothing), else the next free one (above every id in the book and in the body), so
  ids stay stable when a client sends the book back with or without its ids.
- Optional fields left null are dropped, so a book read back is the book that was sent, plus ids and defaults.

An entry that repeats an id already used earlier in the body is numbered like a new entry, and an entry without
keys is kept (it never fires, as in SillyTavern): neither is refused, since no JSON schema can say so.

Every problem is named by its path (``entries[2].keys[0]``) in one ValidationFailed; nothing is half-applied.
"""

import re
from collections.abc import Iterable
from typing import Any

from apps.characters.lore.book import regex_key_compile, selective_logic_name
from apps.characters.types import CHARACTER_BOOK, SHARED_BOOK
from apps.core.errors import ValidationFailed
from apps.core.shapes import shape_validate


def _key_problems(keys: list[str], path: str, *, use_regex: bool) -> dict[str, list[str]]:
    problems = {}
    for index, key in enumerate(keys):
        try:
            regex_key_compile(key, use_regex=use_regex)
        except re.error as error:
            problems[f"{path}[{index}]"] = [f"Not a valid regular expression: {error}."]
    return problems


def _entry_normalise(entry: dict[str, Any]) -> dict[str, Any]:
    entry = {name: value for name, value in entry.items() if value is not None}
    extensions = entry.get("extensions") or {}
    entry["selective_logic"] = (
        entry.get("selective_logic") or selective_logic_name(extensions.get("selectiveLogic")) or "and_any"
    )
    if "selective" not in entry and entry["secondary_keys"]:
        entry["selective"] = True
    return entry


def _identity(keys: Iterable[str], content: str) -> tuple:
    return tuple(keys), content


def book_body_validate(
    data: Any, *, existing_entries: Iterable[tuple[int, list[str], str]] = (), shared: bool = False
) -> dict[str, Any]:
    """``data`` (a Card V2 ``character_book``) checked and normalised, every entry with an ``id``.

    ``existing_entries`` are the stored book's entries as ``(id, keys, content)``: an id-less entry with the same
    keys and content keeps its id, other new entries are numbered above every id. ``shared`` checks the body as a
    shared book (a name is required). Raises ValidationFailed naming each bad field by its path.
    """
    book = shape_validate(SHARED_BOOK if shared else CHARACTER_BOOK, data)
    # Lists and objects default here, not in the shape (a shared default object would be shared by every body).
    book.setdefault("extensions", {})
    book.setdefault("entries", [])
    for entry in book["entries"]:
        for name, empty in (("keys", []), ("secondary_keys", []), ("extensions", {})):
            if entry.get(name) is None:
                entry[name] = empty
    problems: dict[str, list[str]] = {}
    seen: dict[int, int] = {}
    for index, entry in enumerate(book["entries"]):
        path = f"entries[{index}]"
        use_regex = bool(entry.get("use_regex"))
        problems.update(_key_problems(entry["keys"], f"{path}.keys", use_regex=use_regex))
        problems.update(_key_problems(entry["secondary_keys"], f"{path}.secondary_keys", use_regex=use_regex))
        entry_id = entry.get("id")
        if entry_id is not None and entry_id in seen:
            entry["id"] = None  # a repeated id (a copied entry): the later one is numbered like a new entry
        elif entry_id is not None:
            seen[entry_id] = index
    if problems:
        raise ValidationFailed(problems)
    stored = list(existing_entries)
    reusable = {_identity(keys, content): entry_id for entry_id, keys, content in reversed(stored)}
    next_id = max([*(entry_id for entry_id, _, _ in stored), *seen, -1]) + 1
    taken = set(seen)
    entries = []
    for entry in book["entries"]:
        entry = _entry_normalise(entry)
        if "id" not in entry:
            same = reusable.get(_identity(entry["keys"], entry["content"]))
            if same is not None and same not in taken:
                entry["id"] = same
            else:
                entry["id"], next_id = next_id, next_id + 1
            taken.add(entry["id"])
        entries.append(entry)
    book = {name: value for name, value in book.items() if value is not None}
    book["entries"] = entries
    return book
