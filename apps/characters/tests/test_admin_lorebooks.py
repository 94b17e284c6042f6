"""The lorebook admin: a book with inline entries; saving publishes every character that uses it."""

import json

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from apps.characters import services
from apps.characters.models import CharacterVersion, Lorebook, LorebookEntry
from apps.characters.tests.factories import character_publish

pytestmark = pytest.mark.django_db

ADD = reverse("admin:characters_lorebook_add")


def _form(app_id: str, *, name="World", characters=(), owner="", entries=(), initial=0) -> dict:
    data = {
        "app": app_id,
        "name": name,
        "description": "",
        "owner": owner,
        "characters": list(characters),
        "scan_depth": "",
        "token_budget": "",
        "recursive_scanning": "unknown",
        "extensions": "{}",
        "entries-TOTAL_FORMS": str(len(entries)),
        "entries-INITIAL_FORMS": str(initial),
        "entries-MIN_NUM_FORMS": "0",
        "entries-MAX_NUM_FORMS": "1000",
    }
    for index, entry in enumerate(entries):
        row = {
            "keys": json.dumps(entry.get("keys", [])),
            "secondary_keys": "[]",
            "selective": "unknown",
            "selective_logic": "and_any",
            "content": entry.get("content", ""),
            "enabled": "on",
            "insertion_order": "100",
            "position": "before_char",
            "probability": "",
            "comment": "",
            "name": "",
            "case_sensitive": "unknown",
            "priority": "",
            "extensions": json.dumps(entry.get("extensions", {})),
            "entry_id": entry.get("entry_id", ""),
            "ordinal": "",
        }
        data.update({f"entries-{index}-{name}": value for name, value in row.items()})
    return data


def test_a_shared_book_saved_with_entries_publishes_its_characters(admin_client, owner, admin_user):
    app = owner.api_key.app
    luna = character_publish(app, slug="luna").character
    entries = [{"keys": ["harbour"], "content": "The harbour.", "extensions": {"sticky": 2, "x_kept": [1]}}]
    response = admin_client.post(ADD, _form(app.pk, characters=[luna.pk], entries=entries))
    assert response.status_code == 302, response.context and response.context["errors"]
    book = Lorebook.objects.get(name="World")
    (entry,) = book.entries.all()
    assert (entry.entry_id, entry.extensions) == (0, {"sticky": 2, "x_kept": [1]})
    version = CharacterVersion.objects.get(character=luna, version_number=2)
    assert version.published_by == admin_user and version.published_via == "admin"
    assert version.content["lorebooks"][0]["entries"][0]["content"] == "The harbour."


def test_an_invalid_entry_is_shown_beside_its_field_and_nothing_is_written(admin_client, owner):
    app = owner.api_key.app
    luna = character_publish(app, slug="luna").character
    entries = [{"keys": ["/(broken/"], "content": "x"}]
    response = admin_client.post(ADD, _form(app.pk, characters=[luna.pk], entries=entries))
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors[0]
    assert "Not a valid regular expression" in " ".join(errors["keys"])
    assert not Lorebook.objects.exists() and not LorebookEntry.objects.exists()
    assert CharacterVersion.objects.filter(character=luna).count() == 1


def test_detaching_in_the_admin_publishes_the_character_without_the_book(admin_client, owner):
    app = owner.api_key.app
    luna = character_publish(app, slug="luna").character
    admin_client.post(ADD, _form(app.pk, characters=[luna.pk], entries=[{"keys": ["a"], "content": "A."}]))
    book = Lorebook.objects.get(name="World")
    entry = book.entries.get()
    change = reverse("admin:characters_lorebook_change", args=[quote(book.pk)])
    data = _form(app.pk, characters=[], entries=[{"keys": ["a"], "content": "A.", "entry_id": "0"}], initial=1)
    data["entries-0-id"], data["entries-0-lorebook"] = entry.pk, book.pk
    response = admin_client.post(change, data)
    assert response.status_code == 302
    assert "lorebooks" not in CharacterVersion.objects.filter(character=luna).order_by("-version_number")[0].content


def test_deleting_a_book_in_the_admin_publishes_its_owner_without_it(admin_client, owner):
    app = owner.api_key.app
    character_publish(app, slug="luna")
    services.lorebook_own_put(app=app, slug="luna", data={"entries": [{"keys": ["a"], "content": "A."}]})
    book = Lorebook.objects.get(owner__slug="luna")
    response = admin_client.post(reverse("admin:characters_lorebook_delete", args=[quote(book.pk)]), {"post": "yes"})
    assert response.status_code == 302 and not Lorebook.objects.exists()
    latest = CharacterVersion.objects.filter(character__slug="luna").order_by("-version_number")[0]
    assert latest.version_number == 3 and "lorebooks" not in latest.content


def test_the_character_page_links_its_lorebooks(admin_client, owner):
    app = owner.api_key.app
    luna = character_publish(app, slug="luna").character
    page = reverse("admin:characters_character_change", args=[quote(luna.pk)])
    assert f"{ADD}?app={app.pk}&amp;owner={luna.pk}" in admin_client.get(page).content.decode()
    services.lorebook_own_put(app=app, slug="luna", data={"entries": [{"keys": ["a"], "content": "A."}]})
    shared = services.lorebook_create(app=app, data={"name": "World", "entries": []}).lorebook
    services.character_lorebooks_set(app=app, slug="luna", lorebook_ids=[shared.id])
    html = admin_client.get(page).content.decode()
    own = Lorebook.objects.get(owner=luna)
    assert reverse("admin:characters_lorebook_change", args=[quote(own.pk)]) in html
    assert reverse("admin:characters_lorebook_change", args=[quote(shared.pk)]) in html
