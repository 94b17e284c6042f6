"""Admin: presets listed read-only; a character's persona edited as a form (preset, trait sliders with
facets, identity, goals, emotion-config inputs, JSON for the rest) validated by the engine, with a live
preview endpoint; emotion sessions shown."""

import json

import pytest
from django.contrib.admin.utils import quote
from django.test import Client
from django.urls import reverse

from apps.characters.tests.factories import character_publish
from apps.personas import engine
from apps.personas.models import CharacterPersona, PersonaSession
from apps.personas.services import persona_session_create
from apps.personas.specs import character_persona_derive

ADD = "admin:personas_characterpersona_add"
PREVIEW = "admin:personas_characterpersona_preview"


def inputs(preset: str = "", **overrides) -> dict:
    """What the page posts: every slider (the preset's values, or neutral), facets following their trait."""
    known = engine.PRESETS.get(preset)
    values = known.personality if known else {}
    data: dict = {"preset": preset, "extra": "", "goals": list(known.goals) if known else []}
    for name in ("identity_name", "identity_speaking_style", "identity_role", "identity_language"):
        data[name] = ""
    for domain in engine.DOMAINS:
        value = overrides.get(f"trait_{domain}", values.get(domain, engine.NEUTRAL_TRAIT))
        data[f"trait_{domain}"] = value
        for facet in engine.FACETS[domain]:
            data[f"facet_{facet}"] = value
    data.update(overrides)
    return data


@pytest.fixture
def character(owner):
    return character_publish(owner.api_key.app, slug="luna").character


def test_the_presets_page_lists_the_five_presets(admin_client):
    response = admin_client.get(reverse("admin:personas_presets"))
    assert response.status_code == 200
    page = response.content.decode()
    for preset_id in engine.PRESETS:
        assert f"<code>{preset_id}</code>" in page
    assert "regulation" in page  # the derived emotion config is shown


def test_the_persona_page_is_a_form_of_preset_sliders_facets_identity_goals_and_config(admin_client):
    page = admin_client.get(reverse(ADD)).content.decode()
    assert 'name="spec"' not in page  # no JSON textarea for the whole body any more
    assert '<select name="preset"' in page and 'value="stoic_mentor"' in page
    for domain in engine.DOMAINS:
        assert f'type="range" name="trait_{domain}"' in page
    assert page.count('type="range"') == 6 + 24
    assert page.count('class="persona-facets"') == 6 and 'data-trait="N"' in page  # facets folded per trait
    for name in ("identity_speaking_style", "identity_role", "identity_language", "identity_core_values", "goals"):
        assert f'id="id_{name}"' in page
    assert 'name="ec_regulation__strategy"' in page and 'name="ec_trust__loss_rate"' in page
    assert 'name="extra"' in page  # the JSON view for the rest
    presets = json.loads(page.split('<script id="persona-presets" type="application/json">')[1].split("</script>")[0])
    assert presets["stoic_mentor"]["personality"] == dict(engine.PRESETS["stoic_mentor"].personality)
    assert reverse(PREVIEW) in page and "dramatis/persona-admin.js" in page


def test_saving_writes_the_smallest_body_meaning_what_the_writer_set(admin_client, character):
    data = inputs(
        "stoic_mentor",
        character=character.pk,
        trait_N=0.6,
        facet_fearfulness=0.6,  # follows the moved trait: not written
        facet_anxiety=0.9,  # moved on its own
        identity_speaking_style="dry",
        identity_core_values=["honesty", " ", "patience"],
        ec_trust__initial="0.4",
        ec_regulation__strategy="suppression",
    )
    response = admin_client.post(reverse(ADD), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    persona = CharacterPersona.objects.get(character=character)
    assert persona.spec == {
        "preset": "stoic_mentor",
        "personality": {"N": 0.6, "facets": {"anxiety": 0.9}},
        "identity": {"speaking_style": "dry", "core_values": ["honesty", "patience"]},
        "emotion_config": {"trust": {"initial": 0.4}, "regulation": {"strategy": "suppression"}},
    }


def test_a_custom_persona_writes_every_trait_and_its_goals(admin_client, character):
    data = inputs(character=character.pk, trait_O=0.9, goals=["win", "", "learn"])
    assert admin_client.post(reverse(ADD), data).status_code == 302
    spec = CharacterPersona.objects.get().spec
    assert spec == {
        "personality": {"O": 0.9, "C": 0.5, "E": 0.5, "A": 0.5, "N": 0.5, "H": 0.5},
        "goals": ["win", "learn"],
    }


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"trait_O": "3"}, "trait_O", "Must be between 0 and 1."),
        ({"trait_O": "lots"}, "trait_O", "Enter a number."),
        ({"facet_modesty": "-1"}, "facet_modesty", "Must be between 0 and 1."),
        ({"preset": "grumpy_cat"}, "preset", "Select a valid choice"),
        ({"ec_trust__gain_rate": "0.2", "ec_trust__loss_rate": "0.3"}, "ec_trust__loss_rate", "at least 2 times"),
        ({"ec_sensitivity": "9"}, "ec_sensitivity", "Must be between 0.2 and 2."),
        ({"extra": '{"personality": {"facets": {"charm": 0.5}}}'}, "extra", "personality.facets.charm: Unknown facet."),
        ({"extra": "[1, 2]"}, "extra", "Must be a JSON object."),
        ({"identity_core_values": ["x" * 2001]}, "identity_core_values", "Must be a non-empty string."),
    ],
)
def test_invalid_inputs_show_the_engines_errors_beside_their_fields_and_save_nothing(
    admin_client, character, overrides, field, message
):
    response = admin_client.post(reverse(ADD), inputs(character=character.pk, **overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field]), errors
    assert "errors" in response.content.decode()
    assert not CharacterPersona.objects.exists()


def test_an_invalid_edit_leaves_the_stored_persona_as_it_was(admin_client, character):
    persona = CharacterPersona.objects.create(character=character, spec={"preset": "anxious_helper"})
    change = reverse("admin:personas_characterpersona_change", args=[quote(persona.pk)])
    response = admin_client.post(change, inputs("anxious_helper", character=character.pk, trait_A="1.5"))
    assert response.status_code == 200 and "trait_A" in response.context["adminform"].form.errors
    persona.refresh_from_db()
    assert persona.spec == {"preset": "anxious_helper"}


def test_the_change_page_shows_the_stored_body_in_the_inputs_and_saves_it_unchanged(admin_client, character):
    spec = {
        "preset": "playful_trickster",
        "personality": {"C": 0.45, "facets": {"creativity": 0.95}},
        "identity": {"role": "jester", "nickname": "Pip"},
        "goals": ["make mischief"],
        "emotion_config": {"sensitivity": 1.1, "custom_knob": 1},
        "notes": "kept",
    }
    persona = CharacterPersona.objects.create(character=character, spec=spec)
    change = reverse("admin:personas_characterpersona_change", args=[quote(persona.pk)])
    response = admin_client.get(change)
    form = response.context["adminform"].form
    assert form.initial["preset"] == "playful_trickster"
    assert form.initial["trait_C"] == 0.45 and form.initial["trait_O"] == 0.9  # the preset's where not overridden
    assert form.initial["facet_creativity"] == 0.95 and form.initial["facet_organization"] == 0.45
    assert form.initial["goals"] == ["make mischief"] and form.initial["ec_sensitivity"] == 1.1
    assert form.initial["extra"] == {
        "identity": {"nickname": "Pip"},
        "emotion_config": {"custom_knob": 1},
        "notes": "kept",
    }
    page = response.content.decode()
    assert 'data-own="1"' in page and "Try it" in page
    assert reverse("admin:character_try", args=[character.pk]) in page
    assert "resolved persona" in page.lower() and "jester" in page  # the resolved readout stays

    # Posting the page as shown keeps the body (the engine rejects custom_knob, so drop it first).
    persona.spec["emotion_config"].pop("custom_knob")
    persona.save()
    initial = admin_client.get(change).context["adminform"].form.initial
    posted = {**inputs("playful_trickster", character=character.pk), **initial, "character": character.pk}
    posted["extra"] = json.dumps(initial["extra"])
    assert admin_client.post(change, posted).status_code == 302
    persona.refresh_from_db()
    assert persona.spec == {**spec, "emotion_config": {"sensitivity": 1.1}}


def test_the_preview_answers_with_what_the_engine_derives(admin_client, character):
    response = admin_client.post(reverse(PREVIEW), inputs("empathetic_listener", trait_N=0.9))
    assert response.status_code == 200
    body = response.json()
    expected_spec = {"preset": "empathetic_listener", "personality": {"N": 0.9}}
    assert body["ok"] and body["spec"] == expected_spec
    derived = character_persona_derive(expected_spec)
    assert body["emotion_config"] == derived["emotion_config"]
    assert body["resting_mood"] == derived["resting_mood"]
    # the slider moved the derived config (neuroticism: stronger reactions)
    calmer = admin_client.post(reverse(PREVIEW), inputs("empathetic_listener", trait_N=0.1)).json()
    assert calmer["emotion_config"]["sensitivity"] < body["emotion_config"]["sensitivity"]
    assert calmer["resting_mood"] != body["resting_mood"]
    assert not CharacterPersona.objects.exists()


def test_the_preview_uses_the_characters_emotion_baseline_as_a_session_would(admin_client, owner):
    character = character_publish(
        owner.api_key.app, slug="sunny", emotion_baseline={"valence": 0.5, "arousal": 0.0, "dominance": 0.1}
    ).character
    body = admin_client.post(reverse(PREVIEW), inputs("anxious_helper", character=character.pk)).json()
    assert body["resting_mood"]["emotion"] == {"V": 0.5, "A": 0.5, "D": 0.1}


def test_the_preview_names_the_fields_in_error(admin_client):
    response = admin_client.post(
        reverse(PREVIEW), inputs(trait_E="2", ec_trust__gain_rate="0.2", ec_trust__loss_rate="0.25")
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["trait_E"] == ["Must be between 0 and 1."]
    assert "character" not in errors  # the preview needs no character


def test_the_preview_is_post_only_staff_only_and_csrf_protected(admin_client, admin_user, django_user_model):
    url = reverse(PREVIEW)
    assert admin_client.get(url).status_code == 405
    anonymous = Client().post(url, inputs())
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    staff = django_user_model.objects.create_user("plain", password="pw", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.post(url, inputs()).status_code == 403  # staff without persona permissions
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.post(url, inputs()).status_code == 403


def test_emotion_sessions_are_shown_read_only(admin_client, owner):
    session = persona_session_create(app=owner.api_key.app, spec={"preset": "anxious_helper"})
    listing = admin_client.get(reverse("admin:personas_personasession_changelist"))
    assert listing.status_code == 200 and session.pk in listing.content.decode()
    detail = admin_client.get(reverse("admin:personas_personasession_change", args=[quote(session.pk)]))
    assert detail.status_code == 200 and "discrete_emotion" in detail.content.decode()
    assert admin_client.get(reverse("admin:personas_personasession_add")).status_code == 403
    assert PersonaSession.objects.count() == 1


def test_the_preview_reads_only_the_login_and_the_character(admin_client, character, django_assert_num_queries):
    url = reverse(PREVIEW)
    admin_client.post(url, inputs())  # warm up
    with django_assert_num_queries(2):  # the session and the user: the engine derives in memory
        assert admin_client.post(url, inputs("stoic_mentor", trait_N=0.3)).json()["ok"]
    # + the character, the foreign key's and the one-persona-per-character checks, and its current version
    with django_assert_num_queries(6):
        assert admin_client.post(url, inputs("stoic_mentor", character=character.pk)).json()["ok"]
