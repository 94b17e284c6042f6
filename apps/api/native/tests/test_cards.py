"""POST /v1/characters/import and GET /v1/characters/{slug}/export: success in every format, tenancy, and each
bad card refused with its own code and nothing written (rows, quota, files)."""

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.api.native.tests.contract import assert_error
from apps.api.native.tests.test_visual_assets import _stored_names
from apps.assets.tests.cards_for_tests import (
    charx,
    charx_v3_with_icon,
    encoded,
    png_card,
    v1_card,
    v2_card,
    v3_card,
)
from apps.assets.tests.pictures import png_header_only
from apps.characters.tests.factories import character_publish

IMPORT = "/v1/characters/import"


@pytest.fixture
def files_written():
    before = _stored_names()
    return lambda: _stored_names() - before


def _raw(api, data: bytes, content_type: str, query: str = ""):
    return api.generic("POST", IMPORT + query, data, content_type=content_type)


def test_a_png_card_sent_as_the_body_is_a_new_character(api, files_written):
    response = _raw(api, png_card({"chara": encoded(v2_card())}), "image/png")

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert (data["slug"], data["display_name"], data["version_number"], data["created"]) == ("mira", "Mira", 1, True)
    assert (data["card_format"], data["card_spec"]) == ("png", "chara_card_v2")
    assert data["identity_asset_id"].startswith("vas_")
    assert len(files_written()) == 2  # the picture and its thumbnail
    content = api.get("/v1/characters/mira").json()["data"]["content"]
    assert content["greeting"] == v2_card()["data"]["first_mes"]
    assert content["lorebooks"][0]["name"] == "Island lore"


def test_multipart_json_and_charx_are_accepted_too(api):
    upload = SimpleUploadedFile("mira.json", json.dumps(v3_card()).encode(), content_type="application/json")
    multipart = api.post(IMPORT, {"file": upload}, format="multipart")
    assert multipart.status_code == 201, multipart.content
    assert (multipart.json()["data"]["card_spec"], multipart.json()["data"]["identity_asset_id"]) == (
        "chara_card_v3",
        None,
    )

    as_json = _raw(api, json.dumps(v1_card()).encode(), "application/json")
    assert as_json.status_code == 201 and as_json.json()["data"]["slug"] == "mira-2"

    zipped = _raw(api, charx_v3_with_icon(), "application/zip", "?slug=mira-charx")
    assert zipped.status_code == 201, zipped.content
    assert zipped.json()["data"]["slug"] == "mira-charx" and zipped.json()["data"]["card_format"] == "charx"


def test_a_slug_in_use_is_409_without_replace_and_a_new_version_with_it(api, owner, nothing_written):
    character_publish(owner.api_key.app, slug="mira")
    body = png_card({"chara": encoded(v2_card())})
    with nothing_written():
        assert_error(_raw(api, body, "image/png", "?slug=mira"), 409, "character_exists")
    replaced = _raw(api, body, "image/png", "?slug=mira&replace=true")
    assert replaced.status_code == 201, replaced.content
    # one version with the content and the book together
    assert (replaced.json()["data"]["created"], replaced.json()["data"]["version_number"]) == (False, 2)


@pytest.mark.parametrize("file_format", ["png", "json", "charx"])
def test_export_names_the_file_and_imports_back_to_the_same_card(api, file_format):
    assert _raw(api, png_card({"ccv3": encoded(v3_card())}), "image/png").status_code == 201
    exported = api.get(f"/v1/characters/mira/export?format={file_format}", HTTP_ACCEPT="*/*")

    assert exported.status_code == 200
    suffix = {"png": "png", "json": "json", "charx": "charx"}[file_format]
    assert exported["Content-Disposition"] == f'attachment; filename="mira.{suffix}"'
    assert (
        exported["Content-Type"]
        == {"png": "image/png", "json": "application/json", "charx": "application/zip"}[file_format]
    )
    again = _raw(api, exported.content, "application/octet-stream")
    assert again.status_code == 201, again.content
    reexported = api.get(f"/v1/characters/{again.json()['data']['slug']}/export?format={file_format}")
    assert reexported.content == exported.content


def test_a_v2_json_export_on_request(api):
    _raw(api, json.dumps(v3_card()).encode(), "application/json")
    card = api.get("/v1/characters/mira/export?format=json&spec=v2").json()
    assert card["spec"] == "chara_card_v2" and "group_only_greetings" not in card["data"]
    assert card["data"]["character_book"]["name"] == "Island lore"


def test_another_apps_character_is_404_and_a_bad_format_422(api, other_api, anon):
    _raw(api, json.dumps(v1_card()).encode(), "application/json")
    assert_error(other_api.get("/v1/characters/mira/export"), 404, "character_not_found")
    assert_error(anon.get("/v1/characters/mira/export"), 401, "missing_api_key")
    assert_error(anon.post(IMPORT, b"{}", content_type="application/json"), 401, "missing_api_key")
    assert_error(api.get("/v1/characters/mira/export?format=gif"), 422, "validation_error", fields=["format"])


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("card.json", json.dumps(v3_card()))
        archive.writestr("assets/other/filler.bin", b"\x00" * (8 * 1024 * 1024))
    return out.getvalue()


def _bad_crc() -> bytes:
    good = png_card({"chara": encoded(v2_card())})
    at = good.index(b"tEXtchara")
    length = int.from_bytes(good[at - 4 : at], "big")
    crc_at = at + 4 + length
    return good[:crc_at] + bytes(4) + good[crc_at + 4 :]


BAD_CARDS = {
    "card_invalid_base64": lambda: png_card({"chara": b"not*base64!"}),
    "card_invalid_json": lambda: png_card({"chara": b"eyJuYW1lIjo="}),  # '{"name":' cut short
    "card_no_chunk": lambda: png_card({"Comment": b"just a picture"}),
    "card_image_bomb": lambda: png_header_only(100_000, 100_000),
    "card_zip_bomb": _zip_bomb,
    "card_path_traversal": lambda: charx(v3_card(), {"../../etc/evil.png": b"x"}),
    "card_unsupported": lambda: b"GIF89a not a card",
    "card_invalid_png": _bad_crc,
    "card_invalid_zip": lambda: charx(v3_card(), card_name="character.json"),
    "card_fields_invalid": lambda: json.dumps(v2_card(name="", tags="fantasy")).encode(),
}


@pytest.mark.parametrize("code", sorted(BAD_CARDS))
def test_a_bad_card_is_422_with_its_code_and_writes_nothing(api, code, nothing_written, files_written):
    with nothing_written():
        detail = assert_error(_raw(api, BAD_CARDS[code](), "application/octet-stream"), 422, code)
    assert files_written() == set()
    if code == "card_fields_invalid":
        assert sorted(detail["fields"]) == ["name", "tags"]


def test_a_huge_chunk_and_a_huge_file_are_card_too_large(api, settings, nothing_written):
    settings.CARD_MAX_CHUNK_BYTES = 4096
    with nothing_written():
        huge = png_card({"chara": encoded(v2_card(description="x" * 5000))})
        assert "4096" in assert_error(_raw(api, huge, "image/png"), 422, "card_too_large")["message"]
        settings.CARD_MAX_BYTES = 1024
        assert_error(_raw(api, huge, "image/png"), 422, "card_too_large")


def test_a_book_refused_by_the_lorebook_rules_rolls_everything_back(api, nothing_written, files_written):
    card = v2_card()
    card["data"]["character_book"]["entries"][0]["keys"] = ["/unclosed(/"]
    with nothing_written():
        detail = assert_error(_raw(api, png_card({"chara": encoded(card)}), "image/png"), 422, "card_fields_invalid")
    assert list(detail["fields"]) == ["character_book.entries[0].keys[0]"]
    assert files_written() == set()


def test_statement_counts_of_import_and_export(api):
    body = png_card({"chara": encoded(v2_card())})
    _raw(api, body, "image/png", "?slug=warm-up")  # the key's cache and the catalog
    with CaptureQueriesContext(connection) as imported:
        assert _raw(api, body, "image/png").status_code == 201
    with CaptureQueriesContext(connection) as exported:
        assert api.get("/v1/characters/mira/export?format=png").status_code == 200
    statements = "\n".join(query["sql"][:150] for query in imported.captured_queries)
    assert len(imported.captured_queries) == IMPORT_STATEMENTS, statements
    assert len(exported.captured_queries) == EXPORT_STATEMENTS, [q["sql"][:100] for q in exported.captured_queries]


# Import of a new character with a book and a picture, savepoints included: the key; the slugs taken; the
# publish (the character locked, created, its book and entries, the version, the character); the identity (the
# asset-key check, the current identity locked, the asset). Export: the key, the character, its own book and
# entries, its identity asset.
IMPORT_STATEMENTS = 21
EXPORT_STATEMENTS = 5


def test_an_empty_body_is_422_and_a_card_over_the_json_body_limit_is_an_upload(api, settings, nothing_written):
    with nothing_written():
        assert_error(_raw(api, b"", "image/png"), 422, "validation_error", fields=["file"])
    big = png_card({"chara": encoded(v2_card(description="x" * (2 * settings.REQUEST_MAX_BYTES)))})
    assert len(big) > settings.REQUEST_MAX_BYTES
    assert _raw(api, big, "image/png").status_code == 201
