"""POST /v1/sessions/{id}/messages, the events it produces, GET /events and GET /runs."""

import pytest

from apps.api.native.tests.contract import assert_error
from apps.conversations.models import Event, IdempotencyRecord, Run
from apps.conversations.tests.factories import session_start


@pytest.fixture
def session(owner):
    return session_start(owner.api_key.app, greeting="hi, I'm Luna.")


def _send(api, session_id, body, **extra):
    return api.post(f"/v1/sessions/{session_id}/messages", body, format="json", **extra)


def test_send_accepts_and_the_reply_arrives_as_events_in_order(
    api, session, django_capture_on_commit_callbacks, announced
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _send(api, session.id, {"text": "hey, what are you up to?"})
    assert response.status_code == 202
    body = response.json()
    data = body["data"]
    assert data == {
        "accepted": True,
        "cursor": 2,
        "sent_turn_index": 1,
        "run_ref": data["run_ref"],
        "reply_mode": "async",
    }
    assert data["run_ref"].startswith("run_")
    assert body["next_actions"][0]["command"] == f"GET /v1/sessions/{session.id}/events?since=2"

    events = api.get(f"/v1/sessions/{session.id}/events", {"since": 1}).json()["data"]["events"]
    assert [(e["cursor"], e["event_type"], e["role"]) for e in events] == [
        (2, "message.created", "user"),
        (3, "run.status", None),
        (4, "message.created", "character"),
        (5, "emotion.updated", "character"),
    ]
    assert events[0]["payload"]["text"] == "hey, what are you up to?"
    assert events[1]["payload"] == {"status": "generating", "run_ref": data["run_ref"]}
    reply = events[2]["payload"]
    assert reply["text"] and isinstance(reply["bubbles"], list) and reply["bubbles"]
    assert " ".join(reply["bubbles"]) == reply["text"]
    assert events[2]["run_ref"] == data["run_ref"]
    assert events[3]["payload"]["run_ref"] == data["run_ref"] and "discrete_emotion" in events[3]["payload"]
    assert [e["cursor"] for e in announced] == [2, 3, 4, 5]  # the greeting was committed before

    second = _send(api, session.id, {"text": "cool"}).json()["data"]
    assert (second["cursor"], second["sent_turn_index"]) == (6, 2)


def test_idempotency_key_replays_the_first_answer(api, session, django_capture_on_commit_callbacks):
    headers = {"HTTP_IDEMPOTENCY_KEY": "retry-123"}
    with django_capture_on_commit_callbacks(execute=True):
        first = _send(api, session.id, {"text": "hello?"}, **headers)
        again = _send(api, session.id, {"text": "hello?"}, **headers)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["data"] == first.json()["data"]
    assert Event.objects.filter(session=session, event_type="message.created", role="user").count() == 1
    assert Run.objects.filter(session=session).count() == 1
    assert Event.objects.filter(session=session, role="character", event_type="message.created").count() == 1


def test_idempotency_key_with_a_different_body_is_422(api, session, nothing_written):
    headers = {"HTTP_IDEMPOTENCY_KEY": "retry-123"}
    assert _send(api, session.id, {"text": "hello?"}, **headers).status_code == 202
    with nothing_written():
        response = _send(api, session.id, {"text": "something else"}, **headers)
    assert_error(response, 422, "idempotency_key_reused")
    assert IdempotencyRecord.objects.count() == 1


def test_idempotency_key_on_another_session_is_422(api, owner, session, nothing_written):
    other_session = session_start(owner.api_key.app, slug="mira")
    headers = {"HTTP_IDEMPOTENCY_KEY": "retry-123"}
    assert _send(api, session.id, {"text": "hello?"}, **headers).status_code == 202
    with nothing_written():
        response = _send(api, other_session.id, {"text": "hello?"}, **headers)
    assert_error(response, 422, "idempotency_key_reused")


def test_overlong_idempotency_key_is_422_and_writes_nothing(api, session, nothing_written):
    with nothing_written():
        response = _send(api, session.id, {"text": "hello?"}, HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert_error(response, 422, "validation_error", fields=["Idempotency-Key"])
    assert _send(api, session.id, {"text": "hello?"}, HTTP_IDEMPOTENCY_KEY="k" * 255).status_code == 202


def test_idempotency_keys_are_per_app(api, other_api, owner, other, session):
    theirs = session_start(other.api_key.app, slug="their-luna")
    headers = {"HTTP_IDEMPOTENCY_KEY": "same-key"}
    assert _send(api, session.id, {"text": "hi"}, **headers).status_code == 202
    assert _send(other_api, theirs.id, {"text": "hi"}, **headers).status_code == 202


@pytest.mark.parametrize(
    ("body", "status", "code", "fields"),
    [
        ({}, 422, "validation_error", ["text"]),
        ({"text": ""}, 422, "validation_error", ["text"]),
        ({"text": "   \n\t "}, 422, "validation_error", ["text"]),
        ({"text": None}, 422, "validation_error", ["text"]),
        ({"text": "hi\x00"}, 422, "validation_error", ["text"]),
        ({"text": 123}, 422, "validation_error", ["text"]),
        ({"text": ["hi"]}, 422, "validation_error", ["text"]),
        ({"text": {"body": "hi"}}, 422, "validation_error", ["text"]),
        ({"text": "hi", "reply_mode": "sync"}, 422, "validation_error", ["reply_mode"]),
        (["hi"], 422, "validation_error", ["body"]),
    ],
)
def test_bad_message_bodies_get_clear_errors_and_write_nothing(
    api, session, nothing_written, body, status, code, fields
):
    with nothing_written():
        response = _send(api, session.id, body)
    assert_error(response, status, code, fields=fields)


def test_text_over_the_limit_is_422_and_writes_nothing(api, session, settings, nothing_written):
    settings.MESSAGE_MAX_CHARS = 50
    assert _send(api, session.id, {"text": "a" * 50}).status_code == 202
    with nothing_written():
        response = _send(api, session.id, {"text": "a" * 51})
    detail = assert_error(response, 422, "validation_error", fields=["text"])
    assert "50" in detail["fields"]["text"][0]


def test_app_message_cap_names_the_text_field(owner, api, session, nothing_written):
    type(owner.api_key.app).objects.filter(pk=owner.api_key.app.pk).update(max_message_chars=10)
    with nothing_written():
        response = _send(api, session.id, {"text": "a" * 11})
    assert_error(response, 422, "validation_error", fields=["text"])


def test_malformed_json_is_422_and_writes_nothing(api, session, nothing_written):
    with nothing_written():
        response = api.post(
            f"/v1/sessions/{session.id}/messages", data='{"text": "hi"', content_type="application/json"
        )
    assert_error(response, 422, "invalid_json")


def test_non_json_content_type_is_415_and_writes_nothing(api, session, nothing_written):
    with nothing_written():
        response = api.post(f"/v1/sessions/{session.id}/messages", data="text=hi", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")
    with nothing_written():
        response = api.post(f"/v1/sessions/{session.id}/messages", {"text": "hi"})  # multipart form
    assert_error(response, 415, "unsupported_media_type")


def test_unknown_session_is_404_and_writes_nothing(api, session, nothing_written):
    with nothing_written():
        response = _send(api, "sess_doesnotexist", {"text": "hi"})
    assert_error(response, 404, "session_not_found")


def test_missing_key_is_401_and_writes_nothing(anon, session, nothing_written):
    with nothing_written():
        response = _send(anon, session.id, {"text": "hi"})
    assert_error(response, 401, "missing_api_key")


def test_events_since_and_limit_page_with_next_cursor(api, session, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _send(api, session.id, {"text": "one"})
        _send(api, session.id, {"text": "two"})
    url = f"/v1/sessions/{session.id}/events"
    everything = api.get(url).json()["data"]
    # greeting, then per message: the message, run.status, the reply, emotion.updated
    assert [e["cursor"] for e in everything["events"]] == list(range(1, 10))
    assert everything["next_cursor"] == 9
    page = api.get(url, {"since": 2, "limit": 2}).json()
    assert [e["cursor"] for e in page["data"]["events"]] == [3, 4]
    assert page["data"]["next_cursor"] == 4
    assert page["next_actions"][0]["command"] == f"GET /v1/sessions/{session.id}/events?since=4"
    caught_up = api.get(url, {"since": 9}).json()["data"]
    assert caught_up["events"] == [] and caught_up["next_cursor"] == 9
    ahead = api.get(url, {"since": 100}).json()["data"]
    assert ahead["events"] == [] and ahead["next_cursor"] == 100
    assert len(api.get(url, {"limit": 500}).json()["data"]["events"]) == 9
    event = everything["events"][0]
    assert set(event) == {"event_id", "session_id", "cursor", "event_type", "role", "payload", "run_ref", "created_at"}


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"since": -1}, "since"), ({"since": "x"}, "since")],
)
def test_events_bad_parameters_are_422(api, session, params, field):
    assert_error(api.get(f"/v1/sessions/{session.id}/events", params), 422, "validation_error", fields=[field])


def test_events_of_unknown_session_is_404(api, db):
    assert_error(api.get("/v1/sessions/sess_nope/events"), 404, "session_not_found")


def test_runs_list_the_turns_with_usage(api, session, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sent = _send(api, session.id, {"text": "hey"}).json()["data"]
    response = api.get(f"/v1/sessions/{session.id}/runs")
    assert response.status_code == 200
    runs = response.json()["data"]["runs"]
    assert len(runs) == 1
    run = runs[0]
    assert run["run_ref"] == sent["run_ref"] and run["trigger_cursor"] == sent["cursor"]
    assert (run["status"], run["model_calls"], run["attempts"], run["error"], run["error_code"]) == (
        "succeeded",
        1,
        1,
        False,
        None,
    )
    assert isinstance(run["latency_ms"], int) and run["latency_ms"] >= 0
    assert run["prompt_tokens"] > 0 and run["completion_tokens"] > 0
    assert run["total_tokens"] == run["prompt_tokens"] + run["completion_tokens"]
    assert run["model"] and run["finished_at"]
    assert response.json()["next_actions"]
    assert_error(api.get("/v1/sessions/sess_nope/runs"), 404, "session_not_found")


def test_a_queued_run_shows_as_queued(api, session):
    sent = _send(api, session.id, {"text": "hey"}).json()["data"]  # on_commit never runs: the run stays queued
    run = api.get(f"/v1/sessions/{session.id}/runs").json()["data"]["runs"][0]
    assert (run["run_ref"], run["status"], run["model_calls"], run["latency_ms"]) == (
        sent["run_ref"],
        "queued",
        0,
        None,
    )
