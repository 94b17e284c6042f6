"""GET /v1/sessions/{id}/state: the character's emotion in a session, in the native envelope."""

import pytest

from apps.api.native.tests.contract import assert_error
from apps.conversations.models import Event
from apps.conversations.tests.factories import session_start
from apps.personas.models import PersonaSession


@pytest.fixture
def session(owner):
    return session_start(owner.api_key.app, display_name="Luna", emotion_baseline={"valence": 0.3, "dominance": -0.2})


def _state(client, session_id):
    return client.get(f"/v1/sessions/{session_id}/state")


def test_before_the_first_message_the_state_it_starts_in_and_nothing_is_written(api, session, nothing_written):
    with nothing_written():
        response = _state(api, session.id)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"schema_version", "data", "next_actions"}
    data = body["data"]
    assert (data["session_id"], data["persona_session_id"], data["turns"], data["updated_at"]) == (
        session.id,
        None,
        0,
        None,
    )
    assert data["emotion"]["V"] == 0.3 and data["emotion"]["D"] == -0.2
    assert data["emotion_intensity"] == 0 and data["soul_stage"] == {"id": 1, "name": "Calm"}
    assert set(data["need_state"]) == {"autonomy", "competence", "relatedness"}
    assert 0 <= data["relationship"]["trust"] <= 1 and data["relationship"]["attachment_style"]
    assert data["prompt_data"]["formatted"]["system_prompt"].startswith("You are Luna.")
    assert not PersonaSession.objects.exists()


def test_after_a_message_it_matches_the_last_emotion_updated_event(
    api, owner, session, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"/v1/sessions/{session.id}/messages", {"text": "you're wonderful, thanks!"}, format="json")
    assert sent.status_code == 202
    event = Event.objects.get(session=session, event_type="emotion.updated")
    data = _state(api, session.id).json()["data"]
    assert data["persona_session_id"] == PersonaSession.objects.get(app=owner.api_key.app).id
    assert data["turns"] == 1 and data["updated_at"]
    assert data["emotion"] == event.payload["emotion"]
    assert data["discrete_emotion"] == event.payload["discrete_emotion"]
    assert data["relationship"]["trust"] == event.payload["trust"]
    assert data["emotion"]["V"] > 0.3
    # the same emotion session is readable on the molroo-compatible surface
    molroo = api.get(f"/emotion/v1/state/{data['persona_session_id']}")
    assert molroo.status_code == 200 and molroo.json()["emotion"] == data["emotion"]


def test_another_apps_session_looks_absent_and_nothing_is_written(other_api, session, nothing_written):
    with nothing_written():
        response = _state(other_api, session.id)
    assert_error(response, 404, "session_not_found")


def test_unknown_session_is_404(api, db, nothing_written):
    with nothing_written():
        assert_error(_state(api, "sess_doesnotexist"), 404, "session_not_found")


def test_missing_key_is_401(anon, session, nothing_written):
    with nothing_written():
        assert_error(_state(anon, session.id), 401, "missing_api_key")
