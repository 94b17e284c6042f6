"""The character page as a writers' form: built from the content shape, validated by the API's rules with errors
beside their fields (and nothing saved), the JSON view, the readiness checklist, and explicit draft and publish."""

import json
import re

import pytest
from django.urls import reverse

from apps.characters.models import Character, CharacterVersion
from apps.characters.tests.admin_forms import ADD_URL, change_url, form_data, form_errors
from apps.characters.tests.factories import character_publish

EVERYTHING = {
    "slug": "luna",
    "display_name": "Luna",
    "locale": "de-DE",
    "model": "scripted",
    "profile": {
        "visible_bio": "Astronomer.\nLikes tea.",
        "visible_interests": ["stars", "tea"],
        "identity_anchors": {"hair": "silver", "age": 27},
        "city": "Oslo",
        "supporting_cast": [{"name": "Mia"}],
        "favourite_number": 7,
        "nickname": "42",
    },
    "voice_samples": ["honestly? the stars were extra loud tonight", "tea first", "ok"],
    "greeting": "hey, you found me!",
    "alternate_greetings": ["oh, hi", "back again?"],
    "onboarding": ["ask their name", {"step": "ask about work"}],
    "character_direction": {"goal": "find the comet"},
    "life_template": "Mornings at the observatory.",
    "story_engine": "{not json, just notes",
    "arc_seeds": ["the comet", 3],
    "relationship_seed": "strangers on a train",
    "emotion_baseline": {"valence": 0.2, "arousal": -0.5, "dominance": 0.0, "custom": "x"},
    "forbidden_style": ["emoji"],
    "handoff_triggers": ["self-harm"],
    "world_model_seed": [{"fact": "the sky is big"}],
    "inherits_style_anchors": ["house-style"],
    "raw_sources": ["https://example.invalid/notes"],
    "behavioral_thresholds": {
        "proactivity_tolerance": 0.4,
        "cold_initiate_enabled": False,
        "daily_image_cap": 3,
        "my_own_knob": True,
    },
    "affordance_schema": {"buttons": ["wave"]},
}


def _luna(owner, **fields):
    return character_publish(owner.api_key.app, slug="luna", **fields).character


def test_everything_the_api_accepts_round_trips_through_the_form_unchanged(admin_client, owner):
    """Each field of the content shows in an editor of its own and comes back as it was."""
    character = character_publish(owner.api_key.app, **{**EVERYTHING}).character
    page = admin_client.get(change_url(character))
    data = form_data(page)
    assert set(data["profile__identity_anchors__key"]) == {"hair", "age"}
    assert set(data["profile__other__key"]) == {"favourite_number", "nickname"}
    assert data["behavioral_thresholds__other__key"][0] == "my_own_knob"
    assert data["voice_samples"][:3] == EVERYTHING["voice_samples"]

    response = admin_client.post(change_url(character), {**data, "_continue": "1"})

    assert response.status_code == 302, response.context["adminform"].form.errors
    character.refresh_from_db()
    assert character.draft == {**EVERYTHING, "profile": EVERYTHING["profile"], "locale": "de-DE"}
    assert CharacterVersion.objects.filter(character=character).count() == 1  # saving a draft publishes nothing


def test_a_new_character_is_authored_field_by_field(admin_client, owner):
    data = {
        "app": owner.api_key.app_id,
        "editor": "form",
        "slug": "nova",
        "display_name": "Nova",
        "greeting": "hi there",
        "voice_samples": ["one", "", "two", "three"],  # a blank row is ignored
        "profile__visible_bio": "A pilot.",
        "profile__identity_anchors__key": ["hair", ""],
        "profile__identity_anchors__value": ["black", ""],
        "profile__other__key": ["lucky", "motto"],
        "profile__other__value": ["7", "fly high"],
        "behavioral_thresholds__daily_image_cap": "5",
        "behavioral_thresholds__selfie_comfort": "0.5",
        "behavioral_thresholds__session_resume_enabled": "true",
        "emotion_baseline__valence": "-0.25",
        "character_direction": '{"goal": "the moon"}',
        "arc_seeds": ['{"arc": "the crash"}', "plain words"],
        "affordance_schema": '{"a": 1}',
        "_continue": "1",
    }

    response = admin_client.post(ADD_URL, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    character = Character.objects.get(slug="nova")
    assert character.draft == {
        "slug": "nova",
        "display_name": "Nova",
        "locale": "en-US",
        "greeting": "hi there",
        "voice_samples": ["one", "two", "three"],
        "profile": {"visible_bio": "A pilot.", "identity_anchors": {"hair": "black"}, "lucky": 7, "motto": "fly high"},
        "behavioral_thresholds": {"daily_image_cap": 5, "selfie_comfort": 0.5, "session_resume_enabled": True},
        "emotion_baseline": {"valence": -0.25},
        "character_direction": {"goal": "the moon"},
        "arc_seeds": [{"arc": "the crash"}, "plain words"],
        "affordance_schema": {"a": 1},
    }
    assert character.current_version is None and not CharacterVersion.objects.exists()
    assert (character.readiness_status, character.readiness_score) == ("needs_work", 54)


def _field_errors(html: str, name: str) -> list[str]:
    """The error messages rendered inside the form row of the field ``name``."""
    row = re.search(rf'<div class="form-row[^"]*field-{name}\b.*?(?=<div class="form-row|</fieldset>)', html, re.S)
    assert row, f"no form row for {name}"
    return re.findall(r"<li>(.*?)</li>", row.group(0).split('<ul class="errorlist', 1)[-1].split("</ul>")[0])


def test_invalid_values_are_shown_beside_their_fields_and_nothing_is_saved(admin_client, owner):
    character = _luna(owner, greeting="hi", voice_samples=["a"])
    before = Character.objects.values().get(pk=character.pk)
    data = form_data(admin_client.get(change_url(character)))
    data.update(
        {
            "greeting": "changed",
            "voice_samples": ["fine", "x" * 2001],
            "behavioral_thresholds__daily_image_cap": "500",
            "behavioral_thresholds__proactivity_tolerance": "lots",
            "emotion_baseline__arousal": "2",
            "character_direction": "{broken",
            "_publish": "1",
        }
    )

    response = admin_client.post(change_url(character), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["behavioral_thresholds__daily_image_cap"] == ["Ensure this value is less than or equal to 100."]
    assert errors["behavioral_thresholds__proactivity_tolerance"] == ["A valid number is required."]
    assert errors["emotion_baseline__arousal"] == ["Ensure this value is less than or equal to 1."]
    assert errors["voice_samples"] == ["Item 2: Ensure this field has no more than 2000 characters."]
    assert errors["character_direction"][0].startswith("Looks like JSON but does not parse")
    html = response.content.decode()
    assert _field_errors(html, "behavioral_thresholds__daily_image_cap") == [
        "Ensure this value is less than or equal to 100."
    ]
    assert 'value="500"' in html  # the writer's input is kept to correct
    # nothing saved, nothing published
    assert Character.objects.values().get(pk=character.pk) == before
    assert CharacterVersion.objects.filter(character=character).count() == 1


def test_a_problem_inside_a_profile_key_is_shown_on_the_key_value_rows(admin_client, owner):
    character = _luna(owner)
    data = {**form_data(admin_client.get(change_url(character))), "_continue": "1"}
    data.update({"profile__other__key": ["bad"], "profile__other__value": ["nul\x00"]})
    response = admin_client.post(change_url(character), data)
    assert response.context["adminform"].form.errors == {"profile__other": ["bad: Null characters are not allowed."]}
    character.refresh_from_db()
    assert "profile" not in character.draft


def test_an_invalid_new_character_writes_nothing(admin_client, owner):
    data = {"app": owner.api_key.app_id, "editor": "form", "slug": "bad slug", "display_name": "", "_save": "1"}
    response = admin_client.post(ADD_URL, data)
    errors = response.context["adminform"].form.errors
    assert errors["slug"] == ["Use letters, digits, '_', '.' and '-' only (no spaces)."]
    assert errors["display_name"] == ["This field is required."]
    assert not Character.objects.exists() and not CharacterVersion.objects.exists()


def test_a_slug_the_app_already_has_is_refused_and_another_app_may_use_it(admin_client, owner, other):
    _luna(owner)
    data = {"editor": "form", "slug": "luna", "display_name": "Luna again", "_save": "1"}

    taken = admin_client.post(ADD_URL, {**data, "app": owner.api_key.app_id})
    assert taken.status_code == 200
    assert "already exists" in str(taken.context["adminform"].form.errors)
    assert Character.objects.filter(slug="luna").count() == 1

    free = admin_client.post(ADD_URL, {**data, "app": other.api_key.app_id})
    assert free.status_code == 302, free.context["adminform"].form.errors
    assert Character.objects.filter(slug="luna").count() == 2


def test_the_json_view_edits_the_whole_draft_with_the_same_validation(admin_client, owner):
    character = _luna(owner)
    data = form_data(admin_client.get(change_url(character)))
    assert json.loads(data["content_json"]) == character.draft
    bad = {**character.draft, "behavioral_thresholds": {"daily_image_cap": 500}, "favourite": 1}

    refused = admin_client.post(change_url(character), {**data, "editor": "json", "content_json": json.dumps(bad)})

    assert form_errors(refused)["content_json"] == [
        "behavioral_thresholds.daily_image_cap: Ensure this value is less than or equal to 100.",
        "favourite: Unknown field.",
    ]
    character.refresh_from_db()
    assert "behavioral_thresholds" not in character.draft

    good = {**character.draft, "greeting": "from JSON", "slug": "ignored"}
    saved = admin_client.post(change_url(character), {**data, "editor": "json", "content_json": json.dumps(good)})

    assert saved.status_code == 302
    character.refresh_from_db()
    assert character.draft["greeting"] == "from JSON" and character.slug == character.draft["slug"] == "luna"


def test_every_field_shows_the_help_text_of_the_api_schema(admin_client, owner):
    from apps.characters.types import BEHAVIORAL_THRESHOLDS, CHARACTER_CONTENT

    html = admin_client.get(change_url(_luna(owner))).content.decode()
    documented = [field for field in CHARACTER_CONTENT.fields if field.doc]
    assert len(documented) == len(CHARACTER_CONTENT.fields) - 2  # the two records carry their own doc
    for field in [*documented, *BEHAVIORAL_THRESHOLDS.fields]:
        assert field.doc in html, field.name
    assert 'name="behavioral_thresholds__daily_image_cap" step="1" min="0" max="100"' in html
    assert 'name="emotion_baseline__valence" step="0.01" min="-1" max="1"' in html


def test_the_readiness_checklist_links_each_check_to_its_field(admin_client, owner):
    character = _luna(owner, greeting="hi", profile={"visible_bio": "bio", "mystery": 1})
    html = admin_client.get(change_url(character)).content.decode()
    passed = re.findall(r'<li class="readiness-check readiness-passed"><a href="#([^"]+)">([^<]+)</a>', html)
    missing = re.findall(
        r'<li class="readiness-check readiness-missing"><a href="#([^"]+)">([^<]+)</a> ✗ ([^<]+)', html
    )
    assert passed == [("id_profile__visible_bio", "profile.visible_bio"), ("id_greeting", "greeting")]
    assert (
        "id_voice_samples",
        "voice_samples",
        "Add at least 3 voice_samples in the character&#x27;s own words.",
    ) in missing
    assert ("id_emotion_baseline__valence", "emotion_baseline", "Add emotion_baseline: the resting mood.") in missing
    assert len(missing) == 11
    assert "profile has keys the runtime does not use: mystery." in html
    for anchor, _ in passed:
        assert f'id="{anchor}"' in html  # each link lands on its field


def test_publish_as_version_n_writes_the_next_version_and_records_who(admin_client, owner, admin_user):
    character = _luna(owner, greeting="hi")
    page = admin_client.get(change_url(character))
    assert 'value="Publish as version 2" name="_publish"' in page.content.decode()
    data = {**form_data(page), "greeting": "hello from the admin", "_publish": "1"}

    response = admin_client.post(change_url(character), data, follow=True)

    assert response.redirect_chain[-1][0] == change_url(character)
    assert "Published version 2." in [str(m) for m in response.context["messages"]]
    character.refresh_from_db()
    version = character.current_version
    assert (version.version_number, version.content["greeting"]) == (2, "hello from the admin")
    assert (version.published_by, version.published_via) == (admin_user, "admin")
    assert CharacterVersion.objects.get(character=character, version_number=1).content["greeting"] == "hi"
    assert 'value="Publish as version 3"' in response.content.decode()


def test_publishing_from_the_add_page_creates_version_1(admin_client, owner):
    data = {"app": owner.api_key.app_id, "editor": "form", "slug": "nova", "display_name": "Nova", "_publish": "1"}
    assert 'value="Publish as version 1"' in admin_client.get(ADD_URL).content.decode()
    response = admin_client.post(ADD_URL, data)
    character = Character.objects.get(slug="nova")
    assert response.status_code == 302 and response["Location"] == change_url(character)
    assert character.current_version.version_number == 1 and character.current_version.published_via == "admin"


def test_publishing_unchanged_content_keeps_the_version(admin_client, owner):
    character = _luna(owner)
    data = {**form_data(admin_client.get(change_url(character))), "_publish": "1"}
    response = admin_client.post(change_url(character), data, follow=True)
    assert "Nothing changed since version 1: no new version." in [str(m) for m in response.context["messages"]]
    assert CharacterVersion.objects.filter(character=character).count() == 1


def test_the_publish_action_publishes_the_saved_draft(admin_client, owner, admin_user):
    character = _luna(owner, greeting="hi")
    data = {**form_data(admin_client.get(change_url(character))), "greeting": "draft words", "_continue": "1"}
    admin_client.post(change_url(character), data)
    response = admin_client.post(
        reverse("admin:characters_character_changelist"),
        {"action": "publish_draft", "_selected_action": [character.pk]},
        follow=True,
    )
    assert "luna: published version 2." in [str(m) for m in response.context["messages"]]
    character.refresh_from_db()
    assert character.current_version.content["greeting"] == "draft words"
    assert character.current_version.published_by == admin_user


@pytest.mark.parametrize("value", ["not a dict", ["a", 1]])
def test_a_profile_value_of_another_kind_is_edited_as_json_or_text(admin_client, owner, value):
    """identity_anchors authored as a text (or interests as a mixed list) through the API is not lost."""
    character = _luna(owner, profile={"identity_anchors": value, "visible_interests": value})
    data = form_data(admin_client.get(change_url(character)))
    response = admin_client.post(change_url(character), {**data, "_continue": "1"})
    assert response.status_code == 302, response.context["adminform"].form.non_field_errors()
    character.refresh_from_db()
    assert character.draft["profile"] == {"identity_anchors": value, "visible_interests": value}


def test_what_a_subclass_adds_through_get_fields_shows_once(admin_client, owner):
    """The assets app adds the visual readiness to this page through get_fields; it gets one section of its own."""
    html = admin_client.get(change_url(_luna(owner))).content.decode()
    assert html.count('<p class="visual-readiness">') == 1
    assert html.count("More about this character") == 1


def test_without_javascript_lists_are_plain_inputs_with_blank_rows_to_fill(admin_client, owner):
    character = _luna(owner, voice_samples=["one", "two"], forbidden_style=["emoji"])
    html = admin_client.get(change_url(character)).content.decode()
    samples = re.findall(r'<textarea name="voice_samples"[^>]*>([^<]*)</textarea>', html)
    assert samples == ["one", "two", "", ""]  # the rows, then two blank ones
    assert len(re.findall(r'<input type="text" name="forbidden_style" value="[^"]*"', html)) == 3
    assert '<button type="button" class="authoring-row-add" hidden>Add a row</button>' in html  # shown by the JS
    assert 'src="/static/dramatis/character-admin.js"' in html
    # the JSON view is on the same page: a fieldset the JS shows when "JSON" is chosen
    assert 'class="module aligned authoring-json"' in html and 'name="content_json"' in html
    assert 'name="editor" value="json"' in html
