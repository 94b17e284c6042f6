"""The demo sandbox: keyless issuance, its caps and error codes, expiry, rate limit, the off switch."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey, App
from apps.api.native.tests.contract import assert_error
from apps.characters.models import Character
from apps.conversations.models import Event


@pytest.fixture(autouse=True)
def _sandbox_offered(settings):
    settings.DEMO_SANDBOX_ENABLED = True  # the embedded default; production turns it on explicitly


@pytest.fixture
def sandbox(anon, db):
    """A fresh sandbox key, as a client that uses it, with ``.app`` and ``.data`` (the issuance answer)."""
    response = anon.post("/v1/demo/sandbox-key")
    assert response.status_code == 201, response.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['data']['api_key']}")
    client.data = response.json()["data"]
    client.app = App.objects.get(pk=client.data["app_id"])
    return client


def _session(client, slug="luna"):
    client.post("/v1/characters", {"slug": slug, "display_name": "Luna"}, format="json")
    response = client.post("/v1/sessions", {"character": slug, "external_user_ref": "u1"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]["session_id"]


def test_issuance_needs_no_auth_and_returns_a_key_for_a_fresh_sandbox_app(anon, db):
    response = anon.post("/v1/demo/sandbox-key")
    assert response.status_code == 201
    body = response.json()
    assert body["schema_version"] and body["next_actions"]
    data = body["data"]
    assert data["api_key"].startswith("drm_")
    assert data["limits"] == {"characters": 3, "sessions": 5, "user_messages": 60, "message_chars": 1200}
    app = App.objects.get(pk=data["app_id"])
    assert app.is_sandbox
    key = ApiKey.objects.get(app=app)
    lifetime = key.expires_at - timezone.now()
    assert timedelta(hours=23, minutes=50) < lifetime <= timedelta(hours=24)
    # the key works at once
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {data['api_key']}")
    assert client.get("/v1/characters").status_code == 200


def test_each_issuance_is_a_separate_app(anon, db):
    first = anon.post("/v1/demo/sandbox-key").json()["data"]
    second = anon.post("/v1/demo/sandbox-key").json()["data"]
    assert first["app_id"] != second["app_id"] and first["api_key"] != second["api_key"]


def test_sandbox_apps_are_isolated_from_each_other(sandbox, anon, nothing_written):
    session_id = _session(sandbox)
    neighbour = APIClient()
    neighbour.credentials(HTTP_AUTHORIZATION=f"Bearer {anon.post('/v1/demo/sandbox-key').json()['data']['api_key']}")
    assert neighbour.get("/v1/characters").json()["data"]["characters"] == []
    assert_error(neighbour.get("/v1/characters/luna"), 404, "character_not_found")
    assert_error(neighbour.get(f"/v1/sessions/{session_id}/events"), 404, "session_not_found")
    with nothing_written():
        response = neighbour.post(f"/v1/sessions/{session_id}/messages", {"text": "hi"}, format="json")
    assert_error(response, 404, "session_not_found")


def test_fourth_character_is_demo_quota_exceeded(sandbox, nothing_written):
    for slug in ("one", "two", "three"):
        assert sandbox.post("/v1/characters", {"slug": slug, "display_name": "X"}, format="json").status_code == 201
    # re-publishing an existing character is not a new character
    changed = {"slug": "one", "display_name": "X", "greeting": "hi"}
    assert sandbox.post("/v1/characters", changed, format="json").status_code == 201
    with nothing_written():
        response = sandbox.post("/v1/characters", {"slug": "four", "display_name": "X"}, format="json")
    assert_error(response, 403, "demo_quota_exceeded")
    assert not Character.objects.filter(slug="four").exists()


def test_sixth_session_is_demo_quota_exceeded(sandbox, nothing_written):
    for _ in range(5):
        _session(sandbox)
    with nothing_written():
        response = sandbox.post("/v1/sessions", {"character": "luna", "external_user_ref": "u6"}, format="json")
    assert_error(response, 403, "demo_quota_exceeded")


def test_sixty_first_user_message_is_demo_quota_exceeded(sandbox, nothing_written, django_capture_on_commit_callbacks):
    session_id = _session(sandbox)
    App.objects.filter(pk=sandbox.app.pk).update(user_messages_used=59)
    with django_capture_on_commit_callbacks(execute=True):
        sixtieth = sandbox.post(f"/v1/sessions/{session_id}/messages", {"text": "the 60th"}, format="json")
    assert sixtieth.status_code == 202
    assert App.objects.get(pk=sandbox.app.pk).user_messages_used == 60
    with nothing_written():
        response = sandbox.post(f"/v1/sessions/{session_id}/messages", {"text": "the 61st"}, format="json")
    assert_error(response, 403, "demo_quota_exceeded")


def test_message_over_1200_chars_is_demo_input_too_large(sandbox, nothing_written):
    session_id = _session(sandbox)
    assert sandbox.post(f"/v1/sessions/{session_id}/messages", {"text": "a" * 1200}, format="json").status_code == 202
    with nothing_written():
        response = sandbox.post(f"/v1/sessions/{session_id}/messages", {"text": "a" * 1201}, format="json")
    assert_error(response, 413, "demo_input_too_large")
    assert Event.objects.filter(session_id=session_id, role="user").count() == 1


def test_expired_sandbox_key_is_api_key_expired(sandbox):
    ApiKey.objects.filter(app=sandbox.app).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert_error(sandbox.get("/v1/characters"), 403, "api_key_expired")


def test_issuance_is_rate_limited_per_address(anon, settings, nothing_written):
    settings.DEMO_SANDBOX_ISSUE_PER_HOUR = 2
    assert [anon.post("/v1/demo/sandbox-key").status_code for _ in range(2)] == [201, 201]
    with nothing_written():
        response = anon.post("/v1/demo/sandbox-key")
    assert_error(response, 429, "demo_sandbox_rate_limited")
    # another address still gets a key
    assert anon.post("/v1/demo/sandbox-key", REMOTE_ADDR="10.1.2.3").status_code == 201


def test_issuance_can_be_turned_off(anon, settings, nothing_written):
    settings.DEMO_SANDBOX_ENABLED = False
    with nothing_written():
        response = anon.post("/v1/demo/sandbox-key")
    assert_error(response, 403, "demo_sandbox_disabled")
