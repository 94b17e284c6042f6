"""character_publish_with_own_book: content and the character's own book published as one version (a Character
Card's import), for a new character and an existing one, and nothing written when the book is refused."""

import pytest

from apps.characters import services
from apps.characters.models import Character, CharacterVersion, Lorebook, LorebookEntry
from apps.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db

BOOK = {"name": "Island", "entries": [{"keys": ["lamp"], "content": "The lamp is old."}]}


def test_a_new_character_gets_one_version_carrying_its_book(owner):
    app = owner.api_key.app
    result = services.character_publish_with_own_book(app=app, data={"slug": "mira", "display_name": "Mira"}, book=BOOK)
    assert result.created_version and result.version.version_number == 1
    (book,) = result.version.content["lorebooks"]
    assert (book["name"], book["shared"], book["entries"][0]["keys"]) == ("Island", False, ["lamp"])
    assert Lorebook.objects.get(owner=result.character).entries.count() == 1


def test_an_existing_character_gets_the_next_version_and_keeps_its_shared_books(owner):
    app = owner.api_key.app
    services.character_publish_with_own_book(app=app, data={"slug": "mira", "display_name": "Mira"}, book=BOOK)
    shared = services.lorebook_create(
        app=app, data={"name": "World", "entries": [{"keys": ["sea"], "content": "Salt."}]}
    )
    services.character_lorebooks_set(app=app, slug="mira", lorebook_ids=[shared.lorebook.id])

    result = services.character_publish_with_own_book(
        app=app, data={"slug": "mira", "display_name": "Mira", "scenario": "A storm."}, book=None
    )
    assert result.version.version_number == 3  # 1: import, 2: the shared book attached, 3: this one
    assert [book["name"] for book in result.version.content["lorebooks"]] == ["World"]
    assert not Lorebook.objects.filter(owner=result.character).exists()  # no book in the card: none of its own


def test_a_refused_book_is_named_under_character_book_and_writes_nothing(owner):
    bad = {"entries": [{"keys": ["/unclosed(/"], "content": "x"}]}
    with pytest.raises(ValidationFailed) as refused:
        services.character_publish_with_own_book(
            app=owner.api_key.app, data={"slug": "mira", "display_name": "Mira"}, book=bad
        )
    assert list(refused.value.fields) == ["character_book.entries[0].keys[0]"]
    assert not Character.objects.exists() and not CharacterVersion.objects.exists()
    assert not Lorebook.objects.exists() and not LorebookEntry.objects.exists()
