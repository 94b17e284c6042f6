"""/emotion/v1/proactive/{id} and /proactive/{id}/preferences."""

from datetime import timedelta

import pytest

from apps.api.emotion.tests.conftest import assert_error
from apps.core import clock
from apps.personas.models import PersonaSession, ProactiveAction


def _away(persona: str, hours: float) -> None:
    """The end-user was last seen ``hours`` ago."""
    PersonaSession.objects.filter(pk=persona).update(last_turn_at=clock.now() - timedelta(hours=hours))


def test_off_by_default(api, persona):
    _away(persona, 24 * 30)
    assert api.get(f"/emotion/v1/proactive/{persona}").json() == []
    assert not ProactiveAction.objects.exists()


def test_preferences_enable_and_absence_triggers_attachment_seeking(api, persona, persona_events):
    response = api.put(f"/emotion/v1/proactive/{persona}/preferences", {"enabled": True}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "sessionId": persona,
        "enabled": True,
        "triggers": {"attachment_seeking": True, "need_deficit": True, "emotional_overflow": True},
    }
    assert api.get(f"/emotion/v1/proactive/{persona}").json() == []  # just created: nobody has been away
    _away(persona, 24 * 7)
    actions = api.get(f"/emotion/v1/proactive/{persona}").json()
    assert [a["type"] for a in actions] == ["attachment_seeking"]
    action = actions[0]
    assert set(action) >= {"id", "type", "message", "priority", "metadata"}
    assert action["priority"] in ("medium", "high") and action["message"]
    assert action["metadata"]["absent_seconds"] >= 7 * 24 * 3600 - 5
    assert api.get(f"/emotion/v1/proactive/{persona}").json() == actions  # pending: not created twice
    [event] = [e for e in persona_events.recorded if e["type"] == "proactive_action"]
    assert event["data"]["id"] == action["id"]


def test_disabled_trigger_does_not_fire(api, persona):
    api.put(
        f"/emotion/v1/proactive/{persona}/preferences",
        {"enabled": True, "triggers": ["need_deficit", "emotional_overflow"]},
        format="json",
    )
    _away(persona, 24 * 30)
    assert api.get(f"/emotion/v1/proactive/{persona}").json() == []
    body = api.put(
        f"/emotion/v1/proactive/{persona}/preferences", {"triggers": {"attachment_seeking": True}}, format="json"
    ).json()
    assert body["triggers"] == {"attachment_seeking": True, "need_deficit": True, "emotional_overflow": True}
    assert [a["type"] for a in api.get(f"/emotion/v1/proactive/{persona}").json()] == ["attachment_seeking"]


def test_overflow_during_a_turn_creates_an_action(api, persona):
    api.put(f"/emotion/v1/proactive/{persona}/preferences", {"enabled": True}, format="json")
    hostile = {
        "goal_relevance": 1,
        "goal_congruence": -1,
        "expectedness": 0,
        "controllability": 0,
        "agency": -1,
        "norm_compatibility": -1,
    }
    for _ in range(10):
        body = api.post(
            "/emotion/v1/turn/appraisal", {"sessionId": persona, "appraisal": hostile}, format="json"
        ).json()
    assert "emotional_overflow" in [a["type"] for a in body["proactive_hint"]["pending_actions"]]
    assert body["proactive_hint"]["enabled"] is True and body["proactive_hint"]["next_check_at"]


@pytest.mark.parametrize(
    "body",
    [{}, {"enabled": "yes please"}, {"triggers": ["sulking"]}, {"triggers": {"need_deficit": "on"}}, {"x": 1}, []],
)
def test_preferences_validation(api, persona, nothing_written, body):
    with nothing_written():
        response = api.put(f"/emotion/v1/proactive/{persona}/preferences", body, format="json")
    assert_error(response, 400, "VALIDATION_ERROR")


def test_unknown_session(api, nothing_written):
    with nothing_written():
        assert_error(api.get("/emotion/v1/proactive/ses_x"), 404, "NOT_FOUND")
        response = api.put("/emotion/v1/proactive/ses_x/preferences", {"enabled": True}, format="json")
        assert_error(response, 404, "NOT_FOUND")
