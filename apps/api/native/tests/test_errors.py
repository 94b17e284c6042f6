"""The surface as a whole: the success envelope everywhere, body size limit, unknown URLs and methods."""

import json

import pytest

from apps.api.native.tests.contract import assert_error
from apps.conversations.tests.factories import session_start


def test_every_success_is_enveloped_with_next_actions(api, owner, anon, settings, django_capture_on_commit_callbacks):
    settings.DEMO_SANDBOX_ENABLED = True
    session = session_start(owner.api_key.app, greeting="hi")
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"/v1/sessions/{session.id}/messages", {"text": "hey"}, format="json")
    responses = {
        "create character": api.post("/v1/characters", {"slug": "mira", "display_name": "Mira"}, format="json"),
        "validate": api.post("/v1/characters/validate", {"slug": "x", "display_name": "X"}, format="json"),
        "list characters": api.get("/v1/characters"),
        "character": api.get("/v1/characters/luna"),
        "versions": api.get("/v1/characters/luna/versions"),
        "readiness": api.get("/v1/characters/luna/readiness"),
        "create session": api.post("/v1/sessions", {"character": "luna", "external_user_ref": "u"}, format="json"),
        "list sessions": api.get("/v1/sessions"),
        "session": api.get(f"/v1/sessions/{session.id}"),
        "send": sent,
        "events": api.get(f"/v1/sessions/{session.id}/events"),
        "runs": api.get(f"/v1/sessions/{session.id}/runs"),
        "sandbox key": anon.post("/v1/demo/sandbox-key"),
    }
    for name, response in responses.items():
        assert response.status_code in (200, 201, 202), (name, response.content)
        body = response.json()
        assert set(body) == {"schema_version", "data", "next_actions"}, name
        assert body["schema_version"] == "v0", name
        assert isinstance(body["data"], dict) and body["data"], name
        assert body["next_actions"], name
        for hint in body["next_actions"]:
            assert set(hint) == {"command", "description"} and hint["command"] and hint["description"], name


def test_body_over_the_limit_is_413_in_the_native_shape(api, owner, settings, nothing_written):
    session = session_start(owner.api_key.app)
    settings.REQUEST_MAX_BYTES = 1024
    body = json.dumps({"text": "a" * 2000})
    with nothing_written():
        response = api.post(f"/v1/sessions/{session.id}/messages", data=body, content_type="application/json")
    detail = assert_error(response, 413, "payload_too_large")
    assert "1024" in detail["message"]
    with nothing_written():
        response = api.post("/v1/characters", data=json.dumps({"slug": "x" * 2000}), content_type="application/json")
    assert_error(response, 413, "payload_too_large")


def test_body_over_the_limit_is_refused_even_without_a_key(anon, settings, nothing_written):
    settings.REQUEST_MAX_BYTES = 100
    with nothing_written():
        response = anon.post("/v1/characters", data=json.dumps({"a": "b" * 200}), content_type="application/json")
    assert_error(response, 413, "payload_too_large")


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_v1_url_is_a_json_404(api, settings, debug):
    settings.DEBUG = debug  # the embedded default runs with DEBUG on
    for path in ("/v1/nope", "/v1/characters/luna/nope", "/v1/sessions/sess_x/messages/extra"):
        response = api.get(path)
        detail = assert_error(response, 404, "not_found")
        assert path in detail["message"]


def test_wrong_method_is_405_in_the_native_shape(api, db):
    response = api.delete("/v1/characters")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"] and "POST" in response["Allow"]


def test_error_bodies_carry_only_the_detail(anon, db):
    body = anon.get("/v1/characters").json()
    assert set(body) == {"detail"} and set(body["detail"]) == {"code", "message", "fix"}


def test_database_outage_is_a_retryable_503_in_the_native_shape():
    from django.db import OperationalError

    from apps.api.native.errors import native_exception_handler

    response = native_exception_handler(OperationalError("could not connect to server"), {})
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.data["detail"]["code"] == "service_unavailable"
    assert set(response.data["detail"]) == {"code", "message", "fix"}
