"""Admin authoring: edit the draft, publish it as the next version through the API's service."""

import json

from django.urls import reverse

from apps.characters.models import Character, CharacterVersion
from apps.characters.tests.factories import character_publish


def _change_form_data(response) -> dict:
    """The change form's current values, including the inline formsets' management data."""
    data = {field.html_name: field.value() or "" for field in response.context["adminform"].form}
    for formset in response.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        data.update({f.html_name: f.value() for f in management})
        for form in formset.formset.forms:
            data.update({f.html_name: f.value() or "" for f in form if not f.is_hidden or f.value()})
    return data


def _edit_draft(admin_client, character: Character, draft: dict) -> None:
    url = reverse("admin:characters_character_change", args=[character.pk])
    data = _change_form_data(admin_client.get(url))
    data["draft"] = json.dumps(draft)
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    character.refresh_from_db()
    assert character.draft == draft


def _publish(admin_client, character: Character):
    return admin_client.post(
        reverse("admin:characters_character_changelist"),
        {"action": "publish_draft", "_selected_action": [character.pk]},
        follow=True,
    )


def test_edit_draft_and_publish_it_as_the_next_version(admin_client, owner):
    result = character_publish(owner.api_key.app, slug="luna", greeting="hi")
    character = result.character
    draft = {**character.draft, "greeting": "hello from the admin", "voice_samples": ["a", "b", "c"]}
    _edit_draft(admin_client, character, draft)
    # editing the draft publishes nothing by itself
    assert CharacterVersion.objects.filter(character=character).count() == 1

    response = _publish(admin_client, character)

    assert response.status_code == 200
    assert "luna: published version 2." in [str(m) for m in response.context["messages"]]
    character.refresh_from_db()
    assert character.current_version.version_number == 2
    assert character.current_version.content["greeting"] == "hello from the admin"
    assert CharacterVersion.objects.get(character=character, version_number=1).content["greeting"] == "hi"
    # the version history is on the character's page
    page = admin_client.get(reverse("admin:characters_character_change", args=[character.pk])).content.decode()
    assert page.count(character.current_version.content_hash) == 1


def test_publishing_an_unchanged_draft_keeps_the_version(admin_client, owner):
    character = character_publish(owner.api_key.app, slug="luna").character
    response = _publish(admin_client, character)
    assert "luna: unchanged at version 1." in [str(m) for m in response.context["messages"]]
    assert CharacterVersion.objects.filter(character=character).count() == 1


def test_invalid_draft_shows_the_error_and_writes_no_version(admin_client, owner):
    character = character_publish(owner.api_key.app, slug="luna").character
    _edit_draft(admin_client, character, {**character.draft, "behavioral_thresholds": {"proactivity_tolerance": 1.5}})

    response = _publish(admin_client, character)

    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert len(errors) == 1 and errors[0].startswith("luna: Invalid request")
    assert "behavioral_thresholds.proactivity_tolerance" in errors[0]
    assert CharacterVersion.objects.filter(character=character).count() == 1
    character.refresh_from_db()
    assert character.current_version.version_number == 1


def test_adding_a_slug_the_app_already_has_is_a_form_error_and_another_app_may_use_it(admin_client, owner, other):
    character_publish(owner.api_key.app, slug="luna")
    url = reverse("admin:characters_character_add")
    versions = {"versions-TOTAL_FORMS": 0, "versions-INITIAL_FORMS": 0, "versions-MAX_NUM_FORMS": 1000}
    data = {"slug": "luna", "display_name": "Luna again", "draft": "{}", **versions}

    taken = admin_client.post(url, {**data, "app": owner.api_key.app_id})
    assert taken.status_code == 200  # the form again, with the error
    assert "already exists" in str(taken.context["adminform"].form.errors)
    assert Character.objects.filter(slug="luna").count() == 1

    free = admin_client.post(url, {**data, "app": other.api_key.app_id})
    assert free.status_code == 302, free.context["adminform"].form.errors if free.context else free
    assert set(Character.objects.filter(slug="luna").values_list("app_id", flat=True)) == {
        owner.api_key.app_id,
        other.api_key.app_id,
    }
