"""PATCH/GET /v1/sessions/{id}/proactive-controls and POST /v1/sessions/{id}/proactive-test."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils.dateparse import parse_datetime

from apps.api.native.tests.contract import assert_error
from apps.conversations.models import Event, Run, Session
from apps.conversations.tests.factories import session_start
from apps.core import clock

THRESHOLDS = {"proactivity_tolerance": 0.4, "daily_initiate_cap": 1, "cold_initiate_min_idle_minutes": 90}


@pytest.fixture
def session(owner):
    return session_start(
        owner.api_key.app,
        greeting="hi, I'm Luna.",
        behavioral_thresholds=THRESHOLDS,
        profile={"visible_interests": ["night photography", "tea"]},
    )


@pytest.fixture
def noon_in_seoul(monkeypatch):
    """A clock stopped at 12:00 in Asia/Seoul, so the next due time (greeting + 96 min) is outside the quiet hours
    23:00-07:30 that the test sets, whatever the hour the suite runs at."""
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 6, 1, 3, 0, tzinfo=UTC))


def _patch(client, session_id, body):
    return client.patch(f"/v1/sessions/{session_id}/proactive-controls", body, format="json")


def test_patch_overrides_controls_and_shows_each_effective_value_with_its_source(noon_in_seoul, api, session):
    response = _patch(
        api,
        session.id,
        {
            "proactive_enabled": True,
            "daily_initiate_cap": 3,
            "min_gap_between_initiate_minutes": 240,
            "timezone": "Asia/Seoul",
            "quiet_hours": {"start": "23:00", "end": "07:30"},
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    data = body["data"]
    assert data["session_id"] == session.id
    assert (data["proactive_enabled"], data["timezone"]) == (True, "Asia/Seoul")
    assert data["quiet_hours"] == {"start": "23:00", "end": "07:30"}
    assert data["controls"] == {
        "proactivity_tolerance": 0.4,
        "cold_initiate_enabled": True,
        "session_resume_enabled": True,
        "cold_initiate_min_idle_minutes": 90,
        "session_resume_min_idle_minutes": 60,
        "session_resume_max_unanswered_character_turns": 2,
        "min_gap_between_initiate_minutes": 240,
        "daily_initiate_cap": 3,
    }
    assert data["sources"] == {
        "proactivity_tolerance": "character",
        "cold_initiate_enabled": "default",
        "session_resume_enabled": "default",
        "cold_initiate_min_idle_minutes": "character",
        "session_resume_min_idle_minutes": "default",
        "session_resume_max_unanswered_character_turns": "default",
        "min_gap_between_initiate_minutes": "session",
        "daily_initiate_cap": "session",
    }
    # the greeting is an unanswered character message: a resume nudge after 60 min x (2 - 0.4)
    greeting = Event.objects.get(session=session, event_type="character.initiated")
    assert data["next_kind"] == "session_resume"
    assert parse_datetime(data["next_due_at"]) == greeting.created_at + timedelta(minutes=96)
    assert data["sent_today"] == 0
    session.refresh_from_db()
    assert session.proactive_next_due_at == greeting.created_at + timedelta(minutes=96)
    assert session.proactive_controls == {"daily_initiate_cap": 3, "min_gap_between_initiate_minutes": 240}
    assert body["next_actions"][1]["command"] == f"POST /v1/sessions/{session.id}/proactive-test"
    assert api.get(f"/v1/sessions/{session.id}/proactive-controls").json()["data"] == data


def test_null_restores_the_characters_value_and_switching_off_clears_the_due_time(api, session):
    _patch(api, session.id, {"proactive_enabled": True, "daily_initiate_cap": 3, "proactivity_tolerance": 1})
    data = _patch(api, session.id, {"daily_initiate_cap": None, "quiet_hours": None}).json()["data"]
    assert (data["controls"]["daily_initiate_cap"], data["sources"]["daily_initiate_cap"]) == (1, "character")
    assert (data["controls"]["proactivity_tolerance"], data["sources"]["proactivity_tolerance"]) == (1, "session")
    assert data["quiet_hours"] is None
    off = _patch(api, session.id, {"proactive_enabled": False}).json()["data"]
    assert (off["proactive_enabled"], off["next_due_at"], off["next_kind"]) == (False, None, None)
    assert Session.objects.get(pk=session.id).proactive_next_due_at is None


def test_the_defaults_for_a_new_session_and_tolerance_zero_means_never(api, session):
    data = api.get(f"/v1/sessions/{session.id}/proactive-controls").json()["data"]
    assert (data["proactive_enabled"], data["timezone"], data["next_due_at"]) == (False, "UTC", None)
    data = _patch(api, session.id, {"proactive_enabled": True, "proactivity_tolerance": 0}).json()["data"]
    assert (data["proactive_enabled"], data["next_due_at"]) == (True, None)


def test_a_session_created_with_proactive_on_is_scheduled_at_once(api, owner):
    session_start(owner.api_key.app, slug="mira", greeting="hello!")
    body = {"character": "mira", "external_user_ref": "u1", "proactive_enabled": True}
    response = api.post("/v1/sessions", body, format="json")
    session = Session.objects.get(pk=response.json()["data"]["session_id"])
    assert session.proactive_next_due_at is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"proactivity_tolerance": 1.5}, "proactivity_tolerance"),
        ({"proactivity_tolerance": -0.01}, "proactivity_tolerance"),
        ({"cold_initiate_enabled": "true"}, "cold_initiate_enabled"),
        ({"session_resume_enabled": 1}, "session_resume_enabled"),
        ({"cold_initiate_min_idle_minutes": 4}, "cold_initiate_min_idle_minutes"),
        ({"cold_initiate_min_idle_minutes": 1441}, "cold_initiate_min_idle_minutes"),
        ({"session_resume_min_idle_minutes": -1}, "session_resume_min_idle_minutes"),
        ({"session_resume_min_idle_minutes": 1441}, "session_resume_min_idle_minutes"),
        ({"session_resume_max_unanswered_character_turns": 21}, "session_resume_max_unanswered_character_turns"),
        ({"min_gap_between_initiate_minutes": 1441}, "min_gap_between_initiate_minutes"),
        ({"min_gap_between_initiate_minutes": -5}, "min_gap_between_initiate_minutes"),
        ({"daily_initiate_cap": 51}, "daily_initiate_cap"),
        ({"daily_initiate_cap": 2.5}, "daily_initiate_cap"),
        ({"proactive_enabled": "yes"}, "proactive_enabled"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"quiet_hours": {"start": "22:00", "end": "24:00"}}, "quiet_hours.end"),
        ({"quiet_hours": {"start": "22:00"}}, "quiet_hours.end"),
        ({"daily_cap": 3}, "daily_cap"),
    ],
)
def test_a_bad_value_is_422_naming_the_field_and_nothing_is_written(api, session, body, field, nothing_written):
    before = Session.objects.filter(pk=session.id).values().get()
    with nothing_written():
        # valid changes next to the bad one are not applied either
        response = _patch(api, session.id, {"proactive_enabled": True, "daily_initiate_cap": 4, **body})
    detail = assert_error(response, 422, "validation_error", fields=[field])
    assert field in detail["message"]
    assert Session.objects.filter(pk=session.id).values().get() == before


def test_a_body_that_is_not_an_object_is_422(api, session, nothing_written):
    with nothing_written():
        response = api.patch(f"/v1/sessions/{session.id}/proactive-controls", [1, 2], format="json")
    assert_error(response, 422, "validation_error", fields=["body"])


def test_another_apps_session_is_404_and_unchanged(other_api, session, nothing_written):
    before = Session.objects.filter(pk=session.id).values().get()
    with nothing_written():
        patched = _patch(other_api, session.id, {"proactive_enabled": True})
        tested = other_api.post(f"/v1/sessions/{session.id}/proactive-test")
        read = other_api.get(f"/v1/sessions/{session.id}/proactive-controls")
    for response in (patched, tested, read):
        assert_error(response, 404, "session_not_found")
    assert Session.objects.filter(pk=session.id).values().get() == before


def test_without_a_key_it_is_401(anon, session, nothing_written):
    with nothing_written():
        assert_error(_patch(anon, session.id, {"proactive_enabled": True}), 401, "missing_api_key")
        assert_error(anon.post(f"/v1/sessions/{session.id}/proactive-test"), 401, "missing_api_key")


def test_proactive_test_sends_a_cold_initiate_now_whatever_the_gates_say(
    api, session, django_capture_on_commit_callbacks, announced
):
    # proactive is off and tolerance 0 would forbid it: the test send bypasses both
    _patch(api, session.id, {"proactivity_tolerance": 0})
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/v1/sessions/{session.id}/proactive-test")
    assert response.status_code == 202, response.content
    data = response.json()["data"]
    assert (data["accepted"], data["kind"], data["cursor"]) == (True, "cold_initiate", 2)
    run = Run.objects.get(pk=data["run_ref"])
    assert (run.kind, run.status, run.trigger_cursor) == ("cold_initiate", "succeeded", 2)

    events = api.get(f"/v1/sessions/{session.id}/events", {"since": 1}).json()["data"]["events"]
    assert [(e["event_type"], e["role"]) for e in events] == [("run.status", None), ("message.created", "character")]
    assert events[0]["payload"] == {
        "status": "generating",
        "run_ref": run.id,
        "proactive": {"kind": "cold_initiate"},
    }
    message = events[1]["payload"]
    assert message["proactive"] == {"kind": "cold_initiate", "run_ref": run.id}
    assert "reply_to_cursor" not in message
    assert message["text"] and " ".join(message["bubbles"]) == message["text"]
    assert "night photography" in message["text"] or "Luna" in message["text"]  # in character, from the sheet
    assert [e["cursor"] for e in announced] == [2, 3]
    # a test send is not a scheduled slot: it does not use up the day's cap
    assert api.get(f"/v1/sessions/{session.id}/proactive-controls").json()["data"]["sent_today"] == 0


def test_proactive_test_on_an_unknown_session_is_404(api, nothing_written):
    with nothing_written():
        response = api.post("/v1/sessions/sess_000000000000000000000000/proactive-test")
    assert_error(response, 404, "session_not_found")
