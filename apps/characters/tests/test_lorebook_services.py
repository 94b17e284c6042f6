"""Lorebook storage and versioning: what a version carries under ``lorebooks`` and when a book save publishes."""

import random

import pytest

from apps.characters import selectors, services
from apps.characters.models import CharacterVersion, Lorebook, LorebookEntry
from apps.characters.tests.factories import character_publish
from apps.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db

BOOK = {
    "name": "Harbour",
    "entries": [
        {"keys": ["lighthouse"], "content": "Ines keeps the lighthouse.", "extensions": {"sticky": 1}},
        {"keys": ["flood"], "content": "The flood took the pier.", "constant": True, "position": "after_char"},
    ],
}


def _app(owner):
    return owner.api_key.app


def test_a_versions_books_activate_through_the_selectors_door(owner):
    app = _app(owner)
    character_publish(app, slug="luna")
    services.lorebook_own_put(app=app, slug="luna", data=BOOK)
    version = selectors.character_get(app=app, slug="luna").current_version
    result = selectors.lore_activate(
        books=version.content["lorebooks"],
        messages=[selectors.ScanMessage(role="user", text="is the lighthouse lit?", cursor=7)],
        state={},
        turn=1,
        count_tokens=lambda text: len(text.split()),
        rng=random.Random(0),
    )
    assert [(e.content, e.reason, e.matched_cursor) for e in result.entries] == [
        ("Ines keeps the lighthouse.", "key", 7),
        ("The flood took the pier.", "constant", None),
    ]
    book_id = version.content["lorebooks"][0]["id"]
    assert result.state == {f"{book_id}:0": {"fired": 1, "sticky_until": 2}}


def test_a_shared_edit_publishes_every_attached_character_and_skips_drafts(owner):
    app = _app(owner)
    luna, mira = character_publish(app, slug="luna").character, character_publish(app, slug="mira").character
    draft = services.character_draft_save(app=app, data={"slug": "nova", "display_name": "Nova"})
    book = services.lorebook_create(app=app, data={"name": "World", "entries": [{"keys": ["a"], "content": "A."}]})
    for slug in ("luna", "mira", "nova"):
        services.character_lorebooks_set(app=app, slug=slug, lorebook_ids=[book.lorebook.id])
    saved = services.lorebook_update(
        app=app, lorebook_id=book.lorebook.id, data={"name": "World", "entries": [{"keys": ["a"], "content": "B."}]}
    )
    assert sorted(saved.published) == sorted([luna.id, mira.id])  # the draft has no version to publish
    assert {result.version.version_number for result in saved.published.values()} == {3}
    for character in (luna, mira):
        content = CharacterVersion.objects.get(character=character, version_number=3).content
        assert content["lorebooks"][0]["entries"][0]["content"] == "B."
    assert not CharacterVersion.objects.filter(character=draft).exists()
    first = services.character_draft_publish(character=draft)
    assert first.version.content["lorebooks"][0]["entries"][0]["content"] == "B."


def test_an_invalid_shared_edit_writes_nothing(owner):
    app = _app(owner)
    character_publish(app, slug="luna")
    book = services.lorebook_create(app=app, data={"name": "World", "entries": [{"keys": ["a"], "content": "A."}]})
    services.character_lorebooks_set(app=app, slug="luna", lorebook_ids=[book.lorebook.id])
    versions, entries = CharacterVersion.objects.count(), list(LorebookEntry.objects.values_list("content", flat=True))
    with pytest.raises(ValidationFailed) as raised:
        services.lorebook_update(
            app=app,
            lorebook_id=book.lorebook.id,
            data={"name": "World", "entries": [{"keys": ["a"], "content": "B."}, {"keys": ["/[/"], "content": "C."}]},
        )
    assert list(raised.value.fields) == ["entries[1].keys[0]"]
    assert CharacterVersion.objects.count() == versions
    assert list(LorebookEntry.objects.values_list("content", flat=True)) == entries


def test_a_rollback_keeps_the_current_books(owner):
    app = _app(owner)
    first = character_publish(app, slug="luna", greeting="one")
    services.lorebook_own_put(app=app, slug="luna", data=BOOK)
    character = selectors.character_get(app=app, slug="luna")
    result = services.character_version_republish(character=character, version_id=first.version.id)
    assert result.version.content["greeting"] == "one"
    assert [book["name"] for book in result.version.content["lorebooks"]] == ["Harbour"]


def test_the_draft_never_holds_the_books(owner):
    app = _app(owner)
    character_publish(app, slug="luna")
    services.lorebook_own_put(app=app, slug="luna", data=BOOK)
    character = selectors.character_get(app=app, slug="luna")
    assert "lorebooks" in character.current_version.content and "lorebooks" not in character.draft


def test_a_book_with_no_enabled_entry_is_left_out_of_the_version(owner):
    app = _app(owner)
    character_publish(app, slug="luna")
    services.lorebook_own_put(app=app, slug="luna", data=BOOK)
    disabled = {"name": "Harbour", "entries": [{**entry, "enabled": False} for entry in BOOK["entries"]]}
    saved = services.lorebook_own_put(app=app, slug="luna", data=disabled)
    assert "lorebooks" not in next(iter(saved.published.values())).version.content
    assert Lorebook.objects.get(owner__slug="luna").entries.count() == 2  # kept, only out of the prompt


def test_the_admin_save_republishes_characters_it_was_detached_from(owner, admin_user):
    app = _app(owner)
    luna = character_publish(app, slug="luna").character
    book = services.lorebook_create(app=app, data={"name": "World", "entries": [{"keys": ["a"], "content": "A."}]})
    services.character_lorebooks_set(app=app, slug="luna", lorebook_ids=[book.lorebook.id])
    book.lorebook.characters.clear()  # what the admin's M2M widget did in its transaction
    published = services.lorebook_admin_saved(lorebook=book.lorebook, character_ids=[luna.id], published_by=admin_user)
    version = published[luna.id].version
    assert "lorebooks" not in version.content and version.published_by == admin_user
