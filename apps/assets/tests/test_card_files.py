"""The pure card package (no database): the PNG chunk walk, the CHARX checks, the spec detection and the
mapping between a card and our content, on cards built from the published specs and on malformed files."""

import json

import pytest

from apps.assets import cards
from apps.assets.cards import png as card_png
from apps.assets.cards.charx import member_name_check
from apps.assets.errors import (
    CardFieldsInvalid,
    CardImageBomb,
    CardInvalidJson,
    CardInvalidPng,
    CardNoChunk,
    CardPathTraversal,
    CardTooLarge,
    CardUnsupported,
    CardZipBomb,
)
from apps.assets.tests.cards_for_tests import charx, chunk, encoded, png_card, v1_card, v2_card, v3_card
from apps.assets.tests.pictures import picture, png_header_only

LIMITS = cards.CardLimits()


def test_the_v3_chunk_wins_and_chunks_after_iend_are_not_read():
    both = png_card({"chara": encoded(v2_card()), "ccv3": encoded(v3_card())})
    assert cards.card_read(both, LIMITS).card.spec == "chara_card_v3"
    trailing = picture() + chunk(b"tEXt", b"chara\x00" + encoded(v2_card()))  # after IEND: not part of the PNG
    with pytest.raises(CardNoChunk):
        cards.card_read(trailing, LIMITS)


def test_the_walk_refuses_truncated_files_bombs_and_big_chunks_before_copying_them():
    card = png_card({"chara": encoded(v2_card())})
    with pytest.raises(CardInvalidPng):
        cards.card_read(card[: len(card) // 2], LIMITS)
    with pytest.raises(CardImageBomb):
        card_png.png_card_chunks(png_header_only(50_000, 50_000), LIMITS)
    with pytest.raises(CardTooLarge):
        cards.card_read(card, cards.CardLimits(max_chunk_bytes=100))


def test_written_chunks_replace_old_ones_and_sit_before_iend():
    written = card_png.png_with_card_chunks(png_card({"chara": b"old"}), {"chara": b"new", "ccv3": b"v3"})
    assert card_png.png_card_chunks(written, LIMITS).texts == {"chara": b"new", "ccv3": b"v3"}
    assert written.endswith(chunk(b"IEND", b"")) and written.count(b"tEXtchara") == 1


@pytest.mark.parametrize("name", ["../card.json", "/etc/passwd", "assets\\..\\x.png", "C:/x.png", "a/../../b", ""])
def test_names_pointing_outside_the_archive_are_refused(name):
    with pytest.raises(CardPathTraversal):
        member_name_check(name)


def test_an_embedded_uri_that_climbs_out_is_refused_too():
    card = v3_card(assets=[{"type": "icon", "uri": "embeded://../outside.png", "name": "main", "ext": "png"}])
    with pytest.raises(CardPathTraversal):
        cards.card_read(charx(card), LIMITS)


def test_too_many_members_is_a_zip_bomb():
    with pytest.raises(CardZipBomb):
        cards.card_read(
            charx(v3_card(), {f"assets/x/{n}.txt": b"x" for n in range(5)}), cards.CardLimits(zip_max_members=3)
        )


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ([1, 2], CardInvalidJson),
        ({"spec": "lorebook_v3", "data": {}}, CardUnsupported),
        ({"spec": "chara_card_v3", "spec_version": "4.0", "data": {}}, CardUnsupported),
        ({"spec": "chara_card_v2", "spec_version": "2.0", "data": "Mira"}, CardFieldsInvalid),
    ],
)
def test_documents_that_are_not_cards_are_refused(document, error):
    with pytest.raises(error):
        cards.card_read(json.dumps(document).encode(), LIMITS)


def test_a_later_3_x_version_is_read_as_v3_and_nan_is_not_json():
    assert cards.card_read(json.dumps(v3_card() | {"spec_version": "3.5"}).encode(), LIMITS).card.spec == (
        "chara_card_v3"
    )
    with pytest.raises(CardInvalidJson):
        cards.card_read(b'{"name": NaN}', LIMITS)


def test_the_mapping_meets_itself_both_ways():
    data = v3_card()["data"]
    content, book, problems = cards.card_to_content(data)
    assert problems == {} and book == data["character_book"]
    assert content["display_name"] == "Mira" and content["profile"] == {"visible_bio": data["description"]}
    assert content["card_fields"] == {
        name: data[name]
        for name in (
            "nickname",
            "creator_notes_multilingual",
            "source",
            "group_only_greetings",
            "creation_date",
            "modification_date",
        )
    }
    written = cards.content_to_card({**content, "locale": "en-US"}, book=book)
    assert written == {name: value for name, value in data.items() if name != "assets"}


def test_a_v1_card_gets_every_v2_field_on_the_way_out():
    content, book, _ = cards.card_to_content(cards.card_read(json.dumps(v1_card()).encode(), LIMITS).card.data)
    written = cards.content_to_card(content, book=book)
    assert {name: written[name] for name in v1_card()} == v1_card()
    assert (written["tags"], written["extensions"], written["group_only_greetings"]) == ([], {}, [])
    assert "character_book" not in written


def test_our_extension_may_not_carry_what_the_card_carries():
    data = v2_card()["data"]
    data["extensions"] = {"dramatis": {"greeting": "hi", "voice_samples": ["x"]}}
    _, _, problems = cards.card_to_content(data)
    assert list(problems) == ["extensions.dramatis.greeting"]
    assert cards.content_path_to_card("voice_samples[0]") == "extensions.dramatis.voice_samples[0]"
    assert cards.content_path_to_card("card_fields.nickname") == "nickname"
