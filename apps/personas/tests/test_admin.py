"""Admin: presets listed read-only, a character's persona edited (validated by the engine), sessions shown."""

import json

from django.urls import reverse

from apps.characters.tests.factories import character_publish
from apps.personas import engine
from apps.personas.models import CharacterPersona, PersonaSession
from apps.personas.services import persona_session_create


def test_the_presets_page_lists_the_five_presets(admin_client):
    response = admin_client.get(reverse("admin:personas_presets"))
    assert response.status_code == 200
    page = response.content.decode()
    for preset_id in engine.PRESETS:
        assert f"<code>{preset_id}</code>" in page
    assert "regulation" in page  # the derived emotion config is shown


def test_a_characters_persona_is_created_and_edited_with_engine_validation(admin_client, owner):
    character = character_publish(owner.api_key.app, slug="luna").character
    add = reverse("admin:personas_characterpersona_add")

    refused = admin_client.post(add, {"character": character.pk, "spec": json.dumps({"preset": "grumpy_cat"})})
    assert refused.status_code == 200 and "Unknown preset" in refused.content.decode()
    bad = admin_client.post(add, {"character": character.pk, "spec": json.dumps({"personality": {"O": 3}})})
    assert "personality.O" in bad.content.decode()
    assert not CharacterPersona.objects.exists()

    spec = {"preset": "stoic_mentor", "personality": {"N": 0.6}, "identity": {"speaking_style": "dry"}}
    created = admin_client.post(add, {"character": character.pk, "spec": json.dumps(spec)})
    assert created.status_code == 302
    persona = CharacterPersona.objects.get(character=character)
    assert persona.spec == spec
    change = admin_client.get(reverse("admin:personas_characterpersona_change", args=[persona.pk]))
    assert change.status_code == 200 and "speaking_style" in change.content.decode()


def test_emotion_sessions_are_shown_read_only(admin_client, owner):
    session = persona_session_create(app=owner.api_key.app, spec={"preset": "anxious_helper"})
    listing = admin_client.get(reverse("admin:personas_personasession_changelist"))
    assert listing.status_code == 200 and session.pk in listing.content.decode()
    detail = admin_client.get(reverse("admin:personas_personasession_change", args=[session.pk]))
    assert detail.status_code == 200 and "discrete_emotion" in detail.content.decode()
    assert admin_client.get(reverse("admin:personas_personasession_add")).status_code == 403
    assert PersonaSession.objects.count() == 1
