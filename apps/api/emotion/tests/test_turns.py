"""/emotion/v1/turn (simple and full forms), /turn/appraisal and /state/{id}."""

import pytest

from apps.api.emotion.tests.conftest import assert_error
from apps.api.emotion.tests.test_personas import APPRAISAL
from apps.personas.models import PersonaRelationship, PersonaSession

TURN_FIELDS = {
    "appraisal",
    "new_emotion",
    "emotion_intensity",
    "discrete_emotion",
    "stage_transition",
    "body_budget",
    "soul_stage",
    "proactive_hint",
    "prompt_data",
}


def _turn(api, persona, **body):
    return api.post("/emotion/v1/turn", {"sessionId": persona, **body}, format="json")


def test_simple_turn_returns_molroo_fields_and_moves_the_state(api, persona, persona_events):
    before = PersonaSession.objects.get(pk=persona).state
    response = _turn(api, persona, message="You are wonderful, thank you so much for your help!")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) >= TURN_FIELDS
    assert set(body["appraisal"]) == set(APPRAISAL)
    assert set(body["new_emotion"]) == {"V", "A", "D"}
    assert set(body["discrete_emotion"]) == {"primary", "secondary", "intensity"}
    assert 0 <= body["emotion_intensity"] <= 1 and 0 <= body["body_budget"] <= 1
    assert set(body["soul_stage"]) >= {"id", "name"} and 1 <= body["soul_stage"]["id"] <= 15
    assert isinstance(body["stage_transition"], bool)
    formatted = body["prompt_data"]["formatted"]
    assert {"system_prompt", "context_block", "instruction_block"} <= set(formatted)
    assert body["new_emotion"]["V"] > before["emotion"]["V"]  # praise raises valence
    session = PersonaSession.objects.get(pk=persona)
    assert session.turn_count == 1 and session.last_turn_at is not None
    assert session.state["emotion"] == body["new_emotion"]
    assert 0 <= session.relationship["trust"] <= 1 and session.relationship["interactions"] == 1
    assert not PersonaRelationship.objects.exists()  # the session's own end-user lives on the session row
    [event] = [e for e in persona_events.recorded if e["type"] == "turn_result"]
    assert event["session_id"] == persona and event["data"] == body


def test_insult_lowers_valence(api, persona):
    body = _turn(api, persona, message="You are useless and stupid, I hate talking to you.").json()
    assert body["new_emotion"]["V"] < PersonaSession.objects.get(pk=persona).config["baseline"]["V"]
    assert body["appraisal"]["goal_congruence"] < 0


def test_full_event_form_with_elapsed_decay(api, persona):
    _turn(api, persona, message="You are useless and stupid, I hate you.")
    hurt = PersonaSession.objects.get(pk=persona).state["emotion"]["V"]
    body = _turn(
        api,
        persona,
        event={"description": "The user came back.", "source": "system"},
        elapsedSeconds=7 * 24 * 3600,
        event_context="A week later",
    ).json()
    baseline = PersonaSession.objects.get(pk=persona).config["baseline"]["V"]
    assert abs(body["new_emotion"]["V"] - baseline) < abs(hurt - baseline)  # a week of decay toward baseline


def test_per_user_relationships(api, persona):
    _turn(api, persona, message="thank you, you are great", userId="u1")
    _turn(api, persona, message="you are awful", userId="u2")
    trust = dict(PersonaRelationship.objects.filter(session_id=persona).values_list("user_ref", "state__trust"))
    assert set(trust) == {"u1", "u2"} and trust["u1"] > trust["u2"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["sessionId"]),
        ({"sessionId": "X"}, ["message"]),
        ({"message": "hi"}, ["sessionId"]),
        ({"sessionId": "X", "message": "hi", "event": {"description": "d", "source": "user"}}, ["message"]),
        ({"sessionId": "X", "event": {"description": "d", "source": "robot"}}, ["event.source"]),
        ({"sessionId": "X", "message": "hi", "elapsedSeconds": -1}, ["elapsedSeconds"]),
        ({"sessionId": "X", "message": ""}, ["message"]),
        ({"sessionId": "X", "message": "x" * 9000}, ["message"]),
    ],
)
def test_turn_validation(api, persona, nothing_written, body, fields):
    body = {**body, "sessionId": persona} if body.get("sessionId") == "X" else body
    with nothing_written():
        response = api.post("/emotion/v1/turn", body, format="json")
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert set(fields) <= set(error["details"]["fields"]), error


def test_turn_on_unknown_session(api, nothing_written):
    with nothing_written():
        response = _turn(api, "ses_000000000000000000000000", message="hi")
    assert_error(response, 404, "NOT_FOUND")


def test_appraisal_turn(api, persona, persona_events):
    response = api.post(
        "/emotion/v1/turn/appraisal",
        {"sessionId": persona, "appraisal": APPRAISAL, "context": "Won the match", "elapsedSeconds": 30},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["appraisal"] == APPRAISAL and set(body) >= TURN_FIELDS
    assert body["new_emotion"]["V"] > 0
    assert PersonaSession.objects.get(pk=persona).turn_count == 1


@pytest.mark.parametrize(
    ("appraisal", "field"),
    [
        ({**APPRAISAL, "goal_relevance": 1.5}, "appraisal.goal_relevance"),
        ({**APPRAISAL, "agency": -2}, "appraisal.agency"),
        ({k: v for k, v in APPRAISAL.items() if k != "expectedness"}, "appraisal.expectedness"),
        ({**APPRAISAL, "surprise": 0.1}, "appraisal.surprise"),
    ],
)
def test_appraisal_validation(api, persona, nothing_written, appraisal, field):
    with nothing_written():
        response = api.post("/emotion/v1/turn/appraisal", {"sessionId": persona, "appraisal": appraisal}, format="json")
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert field in error["details"]["fields"]


def test_state_snapshot(api, persona):
    _turn(api, persona, message="thank you so much!")
    response = api.get(f"/emotion/v1/state/{persona}")
    assert response.status_code == 200
    state = response.json()
    assert {
        "emotion",
        "emotion_intensity",
        "discrete_emotion",
        "body_budget",
        "soul_stage",
        "need_state",
        "regulation",
        "affect_dynamics",
        "prompt_data",
    } <= set(state)
    assert set(state["need_state"]) == {"autonomy", "competence", "relatedness"}
    assert state["emotion"] == PersonaSession.objects.get(pk=persona).state["emotion"]
    assert 0 <= state["relationship"]["trust"] <= 1
    assert_error(api.get("/emotion/v1/state/ses_000000000000000000000000"), 404, "NOT_FOUND")


def test_stage_transition_and_overflow_are_announced(api, persona, persona_events):
    hostile = {**APPRAISAL, "goal_congruence": -1, "norm_compatibility": -1, "goal_relevance": 1, "controllability": 0}
    for _ in range(25):
        body = api.post(
            "/emotion/v1/turn/appraisal", {"sessionId": persona, "appraisal": hostile}, format="json"
        ).json()
    kinds = [event["type"] for event in persona_events.recorded]
    assert kinds.count("turn_result") == 25
    assert "stage_transition" in kinds and "emotional_overflow" in kinds
    transition = next(e for e in persona_events.recorded if e["type"] == "stage_transition")
    assert transition["data"]["to"]["id"] != transition["data"]["from"]["id"]
    assert body["soul_stage"]["id"] > 1


def test_unknown_fields_are_ignored(api, persona):
    response = _turn(api, persona, message="hello", metadata={"client": "molroo-sdk"}, locale="en")
    assert response.status_code == 200


def test_a_configured_llm_appraises_the_message(api, persona, fake_llm):
    body = _turn(api, persona, message="I love talking to you", event_context="a rainy evening").json()
    assert body["appraisal"]["goal_relevance"] == 0.77  # the fake model's figure, which the lexicon never gives
    [request] = fake_llm.appraisal_requests
    assert "a rainy evening" in request.body["messages"][0]["content"]
    assert request.body["messages"][-1]["content"] == "I love talking to you"


def test_a_supplied_appraisal_never_calls_the_llm(api, persona, fake_llm):
    api.post("/emotion/v1/turn/appraisal", {"sessionId": persona, "appraisal": APPRAISAL}, format="json")
    assert fake_llm.appraisal_requests == [] and fake_llm.chat_requests == []
