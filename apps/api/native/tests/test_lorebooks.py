"""GET/PUT /v1/characters/{slug}/lorebook, PUT /v1/characters/{slug}/lorebooks and the shared /v1/lorebooks."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.api.native.tests.contract import assert_error
from apps.characters.models import Character, Lorebook

pytestmark = pytest.mark.django_db

BOOK = {
    "name": "Harbour",
    "scan_depth": 4,
    "token_budget": 500,
    "extensions": {"x_tool": {"kept": True}},
    "entries": [
        {
            "keys": ["lighthouse"],
            "content": "Ines keeps the lighthouse.",
            "extensions": {"sticky": 2, "x_editor": {"colour": "blue"}, "display_index": 7},
        },
        {
            "keys": ["mayor"],
            "secondary_keys": ["flood"],
            "selective": True,
            "selective_logic": 3,
            "content": "The mayor is blamed for the flood.",
            "position": "after_char",
            "insertion_order": 20,
            "probability": 80,
        },
    ],
}


def _character(api, slug="luna", **fields):
    response = api.post("/v1/characters", {"slug": slug, "display_name": slug.title(), **fields}, format="json")
    assert response.status_code in (200, 201), response.content
    return response.json()["data"]


def _put(api, slug, body):
    return api.put(f"/v1/characters/{slug}/lorebook", body, format="json")


def _shared(api, name="World", keys=("realm",)):
    body = {"name": name, "entries": [{"keys": list(keys), "content": f"{name} lore."}]}
    response = api.post("/v1/lorebooks", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def _version(api, slug):
    return api.get(f"/v1/characters/{slug}").json()["data"]


# --- the character's own book ---------------------------------------------------------------------------------
def test_put_stores_the_book_and_publishes_the_next_version(api):
    assert _character(api)["version_number"] == 1
    response = _put(api, "luna", BOOK)
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert (data["version_number"], data["created_version"], data["attached"]) == (2, True, [])
    book = data["character_book"]
    assert [entry["id"] for entry in book["entries"]] == [0, 1]
    assert book["entries"][1]["selective_logic"] == "and_all"  # ST's number 3, named
    # extensions are kept exactly as sent, unknown keys included
    assert book["extensions"] == {"x_tool": {"kept": True}}
    assert book["entries"][0]["extensions"] == BOOK["entries"][0]["extensions"]
    content = _version(api, "luna")["content"]
    (resolved,) = content["lorebooks"]
    assert resolved["id"].startswith("lb_") and resolved["shared"] is False and resolved["revision"]
    assert resolved["entries"][0]["content"] == "Ines keeps the lighthouse."


def test_get_answers_the_card_v2_book_that_put_accepts_back(api):
    _character(api)
    _put(api, "luna", BOOK)
    got = api.get("/v1/characters/luna/lorebook").json()["data"]
    again = _put(api, "luna", got["character_book"]).json()["data"]
    assert again["created_version"] is False and again["version_number"] == got["version_number"] == 2
    assert again["character_book"] == got["character_book"]


def test_a_character_without_a_book_reads_an_empty_one(api):
    _character(api)
    data = api.get("/v1/characters/luna/lorebook").json()["data"]
    assert data["character_book"]["entries"] == [] and data["version_number"] == 1


def test_entry_ids_sent_back_are_kept_and_new_entries_are_numbered_above(api):
    _character(api)
    first = _put(api, "luna", BOOK).json()["data"]["character_book"]
    entries = [first["entries"][1], {"keys": ["tide"], "content": "Tides."}]
    second = _put(api, "luna", {**first, "entries": entries}).json()["data"]["character_book"]
    assert [entry["id"] for entry in second["entries"]] == [1, 2]


def test_an_invalid_book_names_the_field_path_and_writes_nothing(api, nothing_written):
    _character(api)
    bad = {
        "entries": [
            {"keys": ["ok"], "content": "fine"},
            {"keys": ["x"], "content": "x", "selective_logic": "sometimes", "extensions": {"sticky": -1}},
            {"keys": ["x"], "content": "x", "surprise": 1},
        ]
    }
    with nothing_written():
        response = _put(api, "luna", bad)
    fields = ["entries[1].selective_logic", "entries[1].extensions.sticky", "entries[2].surprise"]
    assert_error(response, 422, "validation_error", fields=fields)
    # the regex check runs on a body whose types are right
    regex = {"entries": [{"keys": ["ok"], "content": "fine"}, {"keys": ["a", "/(unclosed/"], "content": "x"}]}
    with nothing_written():
        response = _put(api, "luna", regex)
    detail = assert_error(response, 422, "validation_error", fields=["entries[1].keys[1]"])
    assert "Not a valid regular expression" in detail["fields"]["entries[1].keys[1]"][0]


def test_a_repeated_entry_id_is_numbered_like_a_new_entry(api):
    _character(api)
    body = {"entries": [{"id": 4, "keys": ["a"], "content": "a"}, {"id": 4, "keys": ["b"], "content": "b"}]}
    book = _put(api, "luna", body).json()["data"]["character_book"]
    assert [entry["id"] for entry in book["entries"]] == [4, 5]


def test_an_entry_without_keys_is_kept_and_never_fires(api):
    _character(api)
    book = _put(api, "luna", {"entries": [{"content": "no keys yet"}]}).json()["data"]["character_book"]
    assert book["entries"][0]["keys"] == []


def test_the_lorebook_needs_a_key(anon, nothing_written):
    with nothing_written():
        assert_error(anon.put("/v1/characters/luna/lorebook", BOOK, format="json"), 401, "missing_api_key")
    assert_error(anon.get("/v1/characters/luna/lorebook"), 401, "missing_api_key")


def test_another_apps_character_lorebook_is_404(api, other_api, nothing_written):
    _character(api)
    _put(api, "luna", BOOK)
    assert_error(other_api.get("/v1/characters/luna/lorebook"), 404, "character_not_found")
    with nothing_written():
        assert_error(other_api.put("/v1/characters/luna/lorebook", BOOK, format="json"), 404, "character_not_found")


def test_content_posts_keep_the_books_and_ignore_a_lorebooks_field(api):
    _character(api)
    _put(api, "luna", BOOK)
    books = _version(api, "luna")["content"]["lorebooks"]
    # a client posting back what it read (lorebooks included) or anything else about lorebooks changes nothing
    content = _version(api, "luna")["content"]
    assert api.post("/v1/characters", {**content, "lorebooks": []}, format="json").json()["data"]["created"] is False
    patched = api.patch("/v1/characters/luna", {"greeting": "hi", "lorebooks": None}, format="json").json()["data"]
    assert patched["created"] is True and patched["dropped_fields"] == []
    assert _version(api, "luna")["content"]["lorebooks"] == books


def test_a_book_saved_before_the_first_publish_reaches_the_first_version(api, owner):
    from apps.characters import services

    services.character_draft_save(app=owner.api_key.app, data={"slug": "nova", "display_name": "Nova"})
    data = _put(api, "nova", BOOK).json()["data"]
    assert data["version_number"] is None and data["created_version"] is False
    character = Character.objects.get(slug="nova")
    published = services.character_draft_publish(character=character)
    assert [book["name"] for book in published.version.content["lorebooks"]] == ["Harbour"]


# --- shared books ---------------------------------------------------------------------------------------------
def test_a_shared_book_is_created_listed_and_read(api, other_api):
    created = _shared(api)
    assert created["characters"] == [] and created["character_book"]["entries"][0]["id"] == 0
    listed = api.get("/v1/lorebooks").json()["data"]["lorebooks"]
    assert [(book["id"], book["entries"]) for book in listed] == [(created["id"], 1)]
    assert api.get(f"/v1/lorebooks/{created['id']}").json()["data"] == created
    assert other_api.get("/v1/lorebooks").json()["data"]["lorebooks"] == []
    assert_error(other_api.get(f"/v1/lorebooks/{created['id']}"), 404, "lorebook_not_found")


def test_a_shared_book_needs_a_unique_name(api, nothing_written):
    _shared(api, "World")
    with nothing_written():
        response = api.post("/v1/lorebooks", {"name": "World", "entries": []}, format="json")
        assert_error(response, 409, "lorebook_name_taken")
        response = api.post("/v1/lorebooks", {"entries": []}, format="json")
        assert_error(response, 422, "validation_error", fields=["name"])


def test_attaching_publishes_and_the_own_book_comes_first(api):
    _character(api)
    _put(api, "luna", BOOK)
    zeta, alpha = _shared(api, "Zeta", ["z"]), _shared(api, "Alpha", ["a"])
    response = api.put("/v1/characters/luna/lorebooks", {"lorebook_ids": [zeta["id"], alpha["id"]]}, format="json")
    data = response.json()["data"]
    assert response.status_code == 200 and data["version_number"] == 3 and data["created_version"] is True
    assert [book["name"] for book in data["attached"]] == ["Alpha", "Zeta"]
    names = [book["name"] for book in _version(api, "luna")["content"]["lorebooks"]]
    assert names == ["Harbour", "Alpha", "Zeta"]
    detached = api.put("/v1/characters/luna/lorebooks", {"lorebook_ids": []}, format="json").json()["data"]
    assert detached["version_number"] == 4 and detached["attached"] == []
    assert [book["name"] for book in _version(api, "luna")["content"]["lorebooks"]] == ["Harbour"]


def test_a_shared_book_edit_publishes_every_attached_character_in_one_request(api):
    for slug in ("luna", "mira", "sol"):
        _character(api, slug)
    book = _shared(api)
    for slug in ("luna", "mira"):
        api.put(f"/v1/characters/{slug}/lorebooks", {"lorebook_ids": [book["id"]]}, format="json")
    body = {"name": "World", "entries": [{"keys": ["realm"], "content": "The realm changed."}]}
    data = api.put(f"/v1/lorebooks/{book['id']}", body, format="json").json()["data"]
    assert data["published"] == [
        {"character": "luna", "version_number": 3, "created_version": True},
        {"character": "mira", "version_number": 3, "created_version": True},
    ]
    for slug in ("luna", "mira"):
        assert _version(api, slug)["content"]["lorebooks"][0]["entries"][0]["content"] == "The realm changed."
    assert _version(api, "sol")["version_number"] == 1
    # the same body again changes no book: no new versions
    again = api.put(f"/v1/lorebooks/{book['id']}", body, format="json").json()["data"]
    assert [item["created_version"] for item in again["published"]] == [False, False]


def test_deleting_a_shared_book_publishes_its_characters_without_it(api, nothing_written):
    _character(api)
    book = _shared(api)
    api.put("/v1/characters/luna/lorebooks", {"lorebook_ids": [book["id"]]}, format="json")
    data = api.delete(f"/v1/lorebooks/{book['id']}").json()["data"]
    assert data == {
        "id": book["id"],
        "deleted": True,
        "published": [{"character": "luna", "version_number": 3, "created_version": True}],
    }
    assert "lorebooks" not in _version(api, "luna")["content"]
    with nothing_written():
        assert_error(api.delete(f"/v1/lorebooks/{book['id']}"), 404, "lorebook_not_found")


def test_another_apps_shared_book_cannot_be_attached_changed_or_deleted(api, other_api, nothing_written):
    book = _shared(api)
    _character(other_api, "theirs")
    with nothing_written():
        response = other_api.put("/v1/characters/theirs/lorebooks", {"lorebook_ids": [book["id"]]}, format="json")
        assert_error(response, 404, "lorebook_not_found")
        assert_error(other_api.put(f"/v1/lorebooks/{book['id']}", BOOK, format="json"), 404, "lorebook_not_found")
        assert_error(other_api.delete(f"/v1/lorebooks/{book['id']}"), 404, "lorebook_not_found")
        response = api.put("/v1/characters/theirs/lorebooks", {"lorebook_ids": [book["id"]]}, format="json")
        assert_error(response, 404, "character_not_found")


def test_attach_needs_a_list_of_ids(api, nothing_written):
    _character(api)
    with nothing_written():
        response = api.put("/v1/characters/luna/lorebooks", {"lorebook_ids": "lb_x"}, format="json")
    assert_error(response, 422, "validation_error", fields=["lorebook_ids"])


def test_a_characters_own_book_is_not_a_shared_book(api):
    _character(api)
    _put(api, "luna", BOOK)
    own = Lorebook.objects.get(owner__slug="luna")
    assert_error(api.get(f"/v1/lorebooks/{own.id}"), 404, "lorebook_not_found")
    assert api.get("/v1/lorebooks").json()["data"]["lorebooks"] == []


# --- statement counts -----------------------------------------------------------------------------------------
def _statements(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code in (200, 201), response.content
    return len(captured.captured_queries)


def test_statement_counts_of_the_lorebook_endpoints(api):
    _character(api)
    _put(api, "luna", BOOK)
    book = _shared(api, "World")
    attach = {"lorebook_ids": [book["id"]]}
    edited = {"name": "World", "entries": [{"keys": ["realm"], "content": "Changed."}]}
    # the key; the character; its own book and its entries; the attached books with their entry counts
    assert _statements(lambda: api.get("/v1/characters/luna/lorebook")) == 5
    # the key; savepoint; lock the character, lock its book, read its entries; write the book, delete and insert
    # the entries; republish (attachments, books, entries, the version, the character); release; attached books
    assert _statements(lambda: _put(api, "luna", {**BOOK, "name": "Harbour 2"})) == 15
    # the key; savepoint; the character, its attachments; lock the books, lock the character; set the attachments
    # (read, insert); republish (5); release; the answer (own book, entries, attached books)
    assert _statements(lambda: api.put("/v1/characters/luna/lorebooks", attach, format="json")) == 17
    # the key; the books; their entries; their characters
    assert _statements(lambda: api.get("/v1/lorebooks")) == 4
    assert _statements(lambda: api.get(f"/v1/lorebooks/{book['id']}")) == 4
    # the key; savepoint; lock the book, read its entries; savepoint, write the book and its entries, release;
    # the attached characters, lock them; republish (5); release
    assert _statements(lambda: api.put(f"/v1/lorebooks/{book['id']}", edited, format="json")) == 17
    # the key; savepoint; savepoint, insert the book and its entries, release; release
    assert _statements(lambda: api.post("/v1/lorebooks", {**edited, "name": "Other"}, format="json")) == 7
    # the key; savepoint; lock the book; its characters, lock them; delete (links, entries, book); republish (5);
    # release
    assert _statements(lambda: api.delete(f"/v1/lorebooks/{book['id']}")) == 14
