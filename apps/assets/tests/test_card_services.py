"""Card import and export through the services, on the real database and storage: every field lands where the
mapping says, and export then import gives the same card back in every format."""

import copy
import io
import json
import zipfile

import pytest

from apps.assets import services
from apps.assets.cards import png as card_png
from apps.assets.cards.spec import card_base64_decode
from apps.assets.models import VisualAsset
from apps.assets.tests.cards_for_tests import charx_v3_with_icon, encoded, png_card, v1_card, v2_card, v3_card
from apps.characters import selectors as character_selectors
from apps.characters.models import CharacterVersion
from apps.characters.tests.factories import character_publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(owner):
    return owner.api_key.app


def _card_of(exported: services.CardExported) -> dict:
    """The V3 card inside an exported file."""
    if exported.content_type == "image/png":
        texts = card_png.png_card_chunks(exported.data, services.cards.card_limits()).texts
        return json.loads(card_base64_decode(texts["ccv3"]))
    if exported.content_type == "application/zip":
        with zipfile.ZipFile(io.BytesIO(exported.data)) as archive:
            return json.loads(archive.read("card.json"))
    return json.loads(exported.data)


def test_a_v2_png_card_becomes_a_character_with_its_book_and_picture(app):
    card = v2_card()
    imported = services.character_card_import(app=app, data=png_card({"chara": encoded(card)}))

    assert (imported.file_format, imported.spec, imported.created) == ("png", "chara_card_v2", True)
    character = imported.character
    assert character.slug == "mira" and character.display_name == "Mira"
    assert imported.version.version_number == 1 and CharacterVersion.objects.filter(character=character).count() == 1
    content = imported.version.content
    data = card["data"]
    assert content["profile"] == {"visible_bio": data["description"]}
    assert content["greeting"] == data["first_mes"]
    for name in (
        "personality",
        "scenario",
        "mes_example",
        "system_prompt",
        "post_history_instructions",
        "creator_notes",
        "alternate_greetings",
        "tags",
        "creator",
        "character_version",
        "extensions",
    ):
        assert content[name] == data[name], name
    # the book is the character's own lorebook, carried by the one version
    (book,) = content["lorebooks"]
    assert book["name"] == "Island lore" and [entry["keys"] for entry in book["entries"]] == [
        ["lighthouse", "lamp"],
        ["storm"],
    ]
    assert book["entries"][0]["extensions"] == {"position": 0, "depth": 4}
    assert book["extensions"] == {"st_world": {"depth": 2}}
    # the picture is the active identity, stripped of the card chunk
    identity = imported.identity
    assert (identity.category, identity.status, identity.width, identity.height) == ("identity", "active", 40, 60)
    with identity.file.open("rb") as stored:
        assert b"tEXt" not in stored.read()


def test_a_v1_json_card_is_read_and_a_taken_name_gets_the_next_free_slug(app):
    character_publish(app, slug="mira")
    imported = services.character_card_import(app=app, data=json.dumps(v1_card()).encode())
    assert imported.spec == "chara_card_v1" and imported.character.slug == "mira-2" and imported.identity is None
    assert imported.version.content["scenario"] == v1_card()["scenario"]


@pytest.mark.parametrize("file_format", ["png", "json", "charx"])
def test_export_then_import_gives_the_same_card_field_for_field(app, file_format):
    card = v3_card()
    first = services.character_card_import(app=app, data=png_card({"ccv3": encoded(card), "chara": encoded(v2_card())}))
    assert first.spec == "chara_card_v3"  # ccv3 wins over chara
    exported = services.character_card_export(app=app, slug=first.character.slug, file_format=file_format)
    again = services.character_card_import(app=app, data=exported.data)
    reexported = services.character_card_export(app=app, slug=again.character.slug, file_format=file_format)

    assert again.character.slug == "mira-2"
    assert _card_of(reexported) == _card_of(exported)
    if file_format != "json":
        assert reexported.data == exported.data  # the same picture too, byte for byte
    # what came in is what goes out: every field, the extensions and the book
    data = _card_of(exported)["data"]
    expected = copy.deepcopy(card["data"])
    for name in (
        "name",
        "description",
        "personality",
        "scenario",
        "first_mes",
        "mes_example",
        "creator_notes",
        "system_prompt",
        "post_history_instructions",
        "alternate_greetings",
        "tags",
        "creator",
        "character_version",
        "extensions",
        "nickname",
        "creator_notes_multilingual",
        "source",
        "group_only_greetings",
        "creation_date",
        "modification_date",
    ):
        assert data[name] == expected[name], name
    for sent, kept in zip(expected["character_book"]["entries"], data["character_book"]["entries"], strict=True):
        assert {name: kept[name] for name in sent} == sent
    assert {name: data["character_book"][name] for name in expected["character_book"] if name != "entries"} == {
        name: value for name, value in expected["character_book"].items() if name != "entries"
    }


def test_our_own_fields_travel_under_extensions_dramatis(app):
    character_publish(
        app,
        slug="luna",
        display_name="Luna",
        locale="fr-FR",
        voice_samples=["tea first"],
        profile={"visible_bio": "An astronomer.", "city": "Lyon"},
    )
    exported = services.character_card_export(app=app, slug="luna", file_format="json")
    data = _card_of(exported)["data"]
    assert data["description"] == "An astronomer."
    assert data["extensions"]["dramatis"] == {
        "locale": "fr-FR",
        "voice_samples": ["tea first"],
        "profile": {"city": "Lyon"},
    }

    imported = services.character_card_import(app=app, data=exported.data)
    content = imported.version.content
    assert (content["locale"], content["voice_samples"]) == ("fr-FR", ["tea first"])
    assert content["profile"] == {"visible_bio": "An astronomer.", "city": "Lyon"}
    assert "dramatis" not in content.get("extensions", {})


def test_a_charx_card_takes_its_main_icon_as_the_identity(app):
    imported = services.character_card_import(app=app, data=charx_v3_with_icon())
    assert imported.file_format == "charx" and (imported.identity.width, imported.identity.height) == (48, 64)


def test_replace_publishes_the_next_version_of_the_same_character(app, owner):
    first = services.character_card_import(app=app, data=png_card({"chara": encoded(v2_card())}))
    changed = v2_card(personality="loud", character_book=None)
    again = services.character_card_import(app=app, data=png_card({"chara": encoded(changed)}), replace=True)

    assert again.character.id == first.character.id and not again.created
    assert again.version.content["personality"] == "loud"
    assert "lorebooks" not in again.version.content  # the card without a book emptied the character's own
    # the same picture is the same identity asset, not a second one
    assert VisualAsset.objects.filter(character=first.character).count() == 1
    exported = _card_of(services.character_card_export(app=app, slug="mira", file_format="json"))
    assert "character_book" not in exported["data"]


def test_a_character_without_a_picture_exports_a_stand_in_png(app):
    character_publish(app, slug="luna", display_name="Luna")
    exported = services.character_card_export(app=app, slug="luna", file_format="png")
    assert exported.filename == "luna.png" and exported.data.startswith(b"\x89PNG")
    assert _card_of(exported)["data"]["name"] == "Luna"
    assert character_selectors.character_get(app=app, slug="luna").current_version.version_number == 1
