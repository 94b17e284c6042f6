"""The persona API of molroo's SDK 0.7 on ``/emotion/v1/personas``: contract tests through the test client
(the SDK itself drives the same routes over HTTP in ``tests/test_live_molroo_sdk.py``)."""

import pytest
from rest_framework.test import APIClient

from apps.api.emotion.tests.conftest import assert_error, row_snapshot
from apps.conversations.models import Memory, MemoryFact
from apps.conversations.services import persona_perceive
from apps.personas.models import PersonaSession

pytestmark = pytest.mark.django_db

PRAISE = {
    "goal_relevance": 0.8,
    "goal_congruence": 0.9,
    "expectedness": 0.5,
    "controllability": 0.6,
    "agency": -0.5,
    "norm_compatibility": 0.8,
    "internal_standards": 0.5,
    "adjustment_potential": 0.6,
    "urgency": 0.3,
}
INSULT = {**PRAISE, "goal_congruence": -0.9, "norm_compatibility": -0.9, "internal_standards": -0.5}
CONFIG = {
    "personality": {"O": 0.7, "C": 0.6, "E": 0.8, "A": 0.7, "N": 0.3, "H": 0.8},
    "identity": {
        "name": "Sera",
        "role": "barista",
        "speakingStyle": "warm and brief",
        "coreValues": ["kindness"],
        "culturalIdentity": "Seoul",
        "description": "Runs a small cafe by the river.",
        "extensions": {"Favourite drink": "hojicha latte"},
    },
    "goals": [{"id": "g1", "content": "keep regulars happy", "priority": 0.9, "mutable": True, "status": "active"}],
}


@pytest.fixture
def sdk(owner) -> APIClient:
    """A client that authenticates the way the SDK does: ``X-API-Key``."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=owner.raw_key)
    return client


@pytest.fixture
def persona_id(sdk) -> str:
    response = sdk.post("/emotion/v1/personas", {"config": CONFIG}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["result"]["personaId"]


def perceive(client, persona_id, message, appraisal=None, source="Mina", **event):
    body = {"event": {"type": "chat_message", "sourceEntity": source, "payload": {"message": message}, **event}}
    if appraisal is not None:
        body["event"]["appraisal"] = appraisal
    return client.post(f"/emotion/v1/personas/{persona_id}/perceive", body, format="json")


def test_create_get_list_patch(sdk, persona_id):
    got = sdk.get(f"/emotion/v1/personas/{persona_id}").json()["result"]
    assert got["id"] == persona_id and got["config"] == CONFIG
    listed = sdk.get("/emotion/v1/personas").json()["result"]
    assert [p["id"] for p in listed["personas"]] == [persona_id] and listed["nextCursor"] is None
    patched = sdk.patch(f"/emotion/v1/personas/{persona_id}", {"identity": {"role": "owner"}}, format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["result"]["config"]["identity"] == {**CONFIG["identity"], "role": "owner"}
    assert PersonaSession.objects.get(pk=persona_id).persona["identity"]["role"] == "owner"


def test_the_session_api_sessions_are_not_personas_of_this_api(api, sdk, persona_id):
    session_id = api.post("/emotion/v1/persona", {"preset": "cheerful_companion"}, format="json").json()["sessionId"]
    assert_error(sdk.get(f"/emotion/v1/personas/{session_id}"), 404, "NOT_FOUND")
    assert [p["id"] for p in sdk.get("/emotion/v1/personas").json()["result"]["personas"]] == [persona_id]


def test_idempotency_key_replays_the_first_answer(sdk):
    headers = {"HTTP_IDEMPOTENCY_KEY": "6f1c2a4e-0000-4000-8000-000000000001"}
    first = sdk.post("/emotion/v1/personas", {"config": CONFIG}, format="json", **headers)
    again = sdk.post("/emotion/v1/personas", {"config": CONFIG}, format="json", **headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert PersonaSession.objects.count() == 1
    other = sdk.post("/emotion/v1/personas", {"config": {**CONFIG, "goals": []}}, format="json", **headers)
    assert_error(other, 422, "IDEMPOTENCY_KEY_REUSED")
    assert PersonaSession.objects.count() == 1


def test_delete_then_restore_within_retention(sdk, persona_id):
    assert sdk.delete(f"/emotion/v1/personas/{persona_id}").status_code == 200
    assert_error(sdk.get(f"/emotion/v1/personas/{persona_id}"), 404, "NOT_FOUND")
    assert_error(perceive(sdk, persona_id, "hi", PRAISE), 404, "NOT_FOUND")
    assert sdk.get("/emotion/v1/personas").json()["result"]["personas"] == []
    restored = sdk.post(f"/emotion/v1/personas/{persona_id}/restore")
    assert restored.status_code == 200 and restored.json()["result"]["id"] == persona_id
    assert perceive(sdk, persona_id, "hi", PRAISE).status_code == 200
    assert_error(sdk.post(f"/emotion/v1/personas/{persona_id}/restore"), 404, "NOT_FOUND")  # not deleted


def test_restore_after_retention_is_404_and_the_purge_removes_it(sdk, persona_id):
    from datetime import timedelta

    from apps.core import clock
    from apps.personas.services import PERSONA_RETENTION, personas_deleted_purge

    sdk.delete(f"/emotion/v1/personas/{persona_id}")
    PersonaSession.objects.filter(pk=persona_id).update(deleted_at=clock.now() - PERSONA_RETENTION - timedelta(1))
    assert_error(sdk.post(f"/emotion/v1/personas/{persona_id}/restore"), 404, "NOT_FOUND")
    assert personas_deleted_purge() == 1 and not PersonaSession.objects.filter(pk=persona_id).exists()


def test_praise_raises_valence_and_an_insult_lowers_it_and_episodes_are_found(sdk, persona_id):
    baseline = sdk.get(f"/emotion/v1/personas/{persona_id}/state").json()["result"]["emotion"]["V"]
    praised = perceive(sdk, persona_id, "Your latte art is wonderful", PRAISE)
    assert praised.status_code == 200, praised.content
    response = praised.json()["result"]
    assert response["emotion"]["vad"]["V"] > baseline
    assert response["appraisalSource"] == "supplied"
    episode = response["memoryEpisode"]
    assert episode["content"] == "Your latte art is wonderful" and episode["sourceEntity"] == "Mina"
    assert episode["appraisal"]["urgency"] == 0.3 and 0 <= episode["importance"] <= 1
    insulted = perceive(sdk, persona_id, "This coffee is terrible and so are you", INSULT).json()["result"]
    assert insulted["emotion"]["vad"]["V"] < response["emotion"]["vad"]["V"]
    assert insulted["socialUpdates"][0]["entityId"] == "Mina" and insulted["socialUpdates"][0]["delta"] < 0
    memory = Memory.objects.get(persona_id=persona_id)
    assert memory.character_id is None and MemoryFact.objects.filter(memory=memory, kind="episode").count() == 2

    found = sdk.post(f"/emotion/v1/personas/{persona_id}/memory/search", {"query": "latte art"}, format="json")
    assert found.status_code == 200, found.content
    episodes = found.json()["result"]["episodes"]
    assert [e["content"] for e in episodes] == ["Your latte art is wonderful"]
    none = sdk.post(
        f"/emotion/v1/personas/{persona_id}/memory/search", {"query": "coffee", "minImportance": 1}, format="json"
    )
    assert none.json()["result"]["episodes"] == []


def test_without_an_appraisal_the_lexicon_appraises_the_message(sdk, persona_id, settings):
    settings.EMOTION_APPRAISER = "lexicon"
    before = sdk.get(f"/emotion/v1/personas/{persona_id}/state").json()["result"]["emotion"]["V"]
    response = perceive(sdk, persona_id, "Thank you so much, you are amazing!").json()["result"]
    assert response["appraisalSource"] == "lexicon" and response["emotion"]["vad"]["V"] > before


def test_tick_moves_back_toward_baseline(sdk, persona_id):
    baseline = sdk.get(f"/emotion/v1/personas/{persona_id}/state").json()["result"]["emotion"]["V"]
    low = perceive(sdk, persona_id, "You idiot", INSULT).json()["result"]["emotion"]["vad"]["V"]
    ticked = sdk.post(f"/emotion/v1/personas/{persona_id}/tick", {"seconds": 3600}, format="json")
    assert ticked.status_code == 200, ticked.content
    assert isinstance(ticked.json()["result"]["pendingEvents"], list)
    after = sdk.get(f"/emotion/v1/personas/{persona_id}/state").json()["result"]
    assert abs(after["emotion"]["V"] - baseline) < abs(low - baseline)
    assert len(after["emotion_history"]) == 2 and set(after["velocity"]) == {"V", "A", "D"}


def test_set_emotion_and_state_fields(sdk, persona_id):
    response = sdk.post(f"/emotion/v1/personas/{persona_id}/emotion", {"vad": {"V": -0.6}}, format="json")
    assert response.status_code == 200, response.content
    state = sdk.get(f"/emotion/v1/personas/{persona_id}/state").json()["result"]
    assert state["emotion"]["V"] == -0.6
    for field in ("velocity", "emotion_history", "body_budget", "soul_stage", "need_state", "affect_dynamics"):
        assert field in state


def test_snapshot_round_trip_restores_exactly(sdk, persona_id):
    perceive(sdk, persona_id, "lovely", PRAISE)
    snapshot = sdk.get(f"/emotion/v1/personas/{persona_id}/snapshot").json()["result"]
    perceive(sdk, persona_id, "awful", INSULT)
    perceive(sdk, persona_id, "awful", INSULT, source="Joon")
    assert sdk.get(f"/emotion/v1/personas/{persona_id}/snapshot").json()["result"] != snapshot
    put = sdk.put(f"/emotion/v1/personas/{persona_id}/snapshot", {"snapshot": snapshot}, format="json")
    assert put.status_code == 200, put.content
    assert sdk.get(f"/emotion/v1/personas/{persona_id}/snapshot").json()["result"] == snapshot


def test_prompt_context_has_identity_emotion_relationship_and_suffix(sdk, persona_id):
    perceive(sdk, persona_id, "lovely", PRAISE)
    body = {"consumerSuffix": "Answer in one sentence.", "sourceEntity": "Mina"}
    response = sdk.post(f"/emotion/v1/personas/{persona_id}/prompt-context", body, format="json")
    assert response.status_code == 200, response.content
    prompt = response.json()["result"]["systemPrompt"]
    for part in ("Sera", "barista", "keep regulars happy", "Runs a small cafe", "hojicha latte"):
        assert part in prompt
    assert prompt.endswith("Answer in one sentence.")


def test_events_stage_transition_and_overflow_are_raised(sdk, persona_id, persona_events):
    hostile = {**INSULT, "goal_relevance": 1, "goal_congruence": -1, "norm_compatibility": -1, "controllability": 0}
    for _ in range(20):
        assert perceive(sdk, persona_id, "I hate you", hostile).status_code == 200
    kinds = {event["type"] for event in persona_events.recorded}
    assert {"stage_transition", "emotional_overflow"} <= kinds


# Errors: molroo's body, and nothing written.


def test_bad_key_and_missing_key_are_unauthorized(persona_id):
    client = APIClient()
    assert_error(client.get("/emotion/v1/personas"), 401, "UNAUTHORIZED")
    client.credentials(HTTP_X_API_KEY="dk_live_nope")
    assert_error(client.get(f"/emotion/v1/personas/{persona_id}"), 401, "UNAUTHORIZED")


def test_bearer_works_too(api, persona_id):
    assert api.get(f"/emotion/v1/personas/{persona_id}").status_code == 200


def episodes_snapshot():
    return [row_snapshot(), list(MemoryFact.objects.values_list("pk", "text")), Memory.objects.count()]


def test_another_tenants_persona_is_404_and_nothing_is_written(other_api, persona_id, nothing_written):
    before = episodes_snapshot()
    with nothing_written():
        assert_error(perceive(other_api, persona_id, "hi", PRAISE), 404, "NOT_FOUND")
        assert_error(other_api.delete(f"/emotion/v1/personas/{persona_id}"), 404, "NOT_FOUND")
        assert_error(
            other_api.post(f"/emotion/v1/personas/{persona_id}/tick", {"seconds": 5}, format="json"), 404, "NOT_FOUND"
        )
        assert_error(
            other_api.post(f"/emotion/v1/personas/{persona_id}/memory/search", {"query": "x"}, format="json"),
            404,
            "NOT_FOUND",
        )
        assert_error(
            other_api.patch(f"/emotion/v1/personas/{persona_id}", {"goals": []}, format="json"), 404, "NOT_FOUND"
        )
    assert episodes_snapshot() == before


@pytest.mark.parametrize(
    ("appraisal", "field"),
    [
        ({**PRAISE, "goal_congruence": 2}, "event.appraisal.goal_congruence"),
        ({**PRAISE, "urgency": -1}, "event.appraisal.urgency"),
        ({**PRAISE, "agency": "a lot"}, "event.appraisal.agency"),
        ({**PRAISE, "goal_relevence": 0.5}, "event.appraisal.goal_relevence"),
        ({k: v for k, v in PRAISE.items() if k != "expectedness"}, "event.appraisal.expectedness"),
    ],
)
def test_a_bad_appraisal_is_a_validation_error_and_writes_nothing(sdk, persona_id, nothing_written, appraisal, field):
    before = episodes_snapshot()
    with nothing_written():
        error = assert_error(perceive(sdk, persona_id, "hi", appraisal), 400, "VALIDATION_ERROR")
    assert field in error["details"]["fields"], error
    assert episodes_snapshot() == before


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({**CONFIG, "personality": {**CONFIG["personality"], "N": 1.5}}, "personality.N"),
        ({**CONFIG, "personality": {**CONFIG["personality"], "O": "high"}}, "config.personality.O"),
        ({**CONFIG, "identity": {"name": 7}}, "config.identity.name"),
        ({**CONFIG, "goals": [{"priority": 1}]}, "config.goals[0].content"),
    ],
)
def test_a_bad_config_is_a_validation_error_and_creates_nothing(sdk, nothing_written, config, field):
    with nothing_written():
        error = assert_error(
            sdk.post("/emotion/v1/personas", {"config": config}, format="json"), 400, "VALIDATION_ERROR"
        )
    assert any(name.endswith(field) or name == field for name in error["details"]["fields"]), error


def test_bad_tick_emotion_snapshot_and_search_bodies(sdk, persona_id, nothing_written):
    with nothing_written():
        assert_error(
            sdk.post(f"/emotion/v1/personas/{persona_id}/tick", {"seconds": "1h"}, format="json"),
            400,
            "VALIDATION_ERROR",
        )
        assert_error(
            sdk.post(f"/emotion/v1/personas/{persona_id}/emotion", {"vad": {"A": 3}}, format="json"),
            400,
            "VALIDATION_ERROR",
        )
        assert_error(
            sdk.put(
                f"/emotion/v1/personas/{persona_id}/snapshot", {"snapshot": {"version": 1, "state": {}}}, format="json"
            ),
            400,
            "VALIDATION_ERROR",
        )
        assert_error(
            sdk.post(f"/emotion/v1/personas/{persona_id}/memory/search", {}, format="json"), 400, "VALIDATION_ERROR"
        )


@pytest.fixture
def model_calls(monkeypatch) -> list[str]:
    """Counts the model calls made (each still goes through to the configured model)."""
    from apps.llm import services as llm_services

    calls: list[str] = []
    real = llm_services.chat_json

    def counted(*args, **kwargs):
        calls.append(kwargs["spec"].name)
        return real(*args, **kwargs)

    monkeypatch.setattr(llm_services, "chat_json", counted)
    return calls


def test_model_calls_per_perceive_are_pinned(owner, persona_id, settings, model_calls):
    """A given appraisal drives the engine with no model call; without one, the model appraiser makes exactly
    one call, reserved and settled like every model call (one usage row for the appraisal)."""
    from apps.accounts.models import UsageRecord

    settings.EMOTION_APPRAISER = "llm"
    app = owner.api_key.app
    persona_perceive(app=app, persona_id=persona_id, message="You are wonderful!", appraisal=PRAISE_SIX)
    assert model_calls == []
    perception = persona_perceive(app=app, persona_id=persona_id, message="You are wonderful!", source_entity="u1")
    assert len(model_calls) == 1 and perception.appraisal_source in ("llm", "lexicon_fallback")
    rows = UsageRecord.objects.filter(app=app, purpose="emotion_appraisal")
    assert rows.count() == 1 and rows.get().external_user_ref == "u1"


PRAISE_SIX = {name: PRAISE[name] for name in list(PRAISE)[:6]}


# The SDK's perceive extras: priorEpisodes and stimulus shape the appraisal; goals, the mask and reflections.


NOW_MS = 1_700_000_000_000


def _episode(congruence, source="Mina"):
    appraisal = {**PRAISE, "goal_congruence": congruence}
    snapshot = {"V": 0.5, "A": 0.4, "D": 0.1}
    return {"id": "ep", "sourceEntity": source, "appraisal": appraisal, "importance": 0.9, "timestamp": NOW_MS,
            "emotionSnapshot": snapshot}  # fmt: skip


def _perceive_with(sdk, persona_id, *, appraisal=PRAISE, context=None, **event):
    given = {"appraisal": appraisal} if appraisal else {}
    body = {"event": {"type": "chat_message", "sourceEntity": "Mina", "timestamp": NOW_MS,
                      "payload": {"message": "hello"}, **given, **event}}  # fmt: skip
    if context is not None:
        body["context"] = context
    response = sdk.post(f"/emotion/v1/personas/{persona_id}/perceive", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["result"]


def test_prior_episodes_make_a_recurring_praise_expected_and_less_moving(sdk, persona_id):
    other = sdk.post("/emotion/v1/personas", {"config": CONFIG}, format="json").json()["result"]["personaId"]
    fresh = _perceive_with(sdk, persona_id)
    familiar = _perceive_with(sdk, other, context={"priorEpisodes": [_episode(0.9)] * 3})
    assert "recurrence" not in fresh and familiar["recurrence"] > 0.8
    assert familiar["appraisal"]["expectedness"] > fresh["appraisal"]["expectedness"]
    assert familiar["appraisal"]["goal_relevance"] < fresh["appraisal"]["goal_relevance"]
    assert familiar["emotion"]["vad"]["V"] < fresh["emotion"]["vad"]["V"]  # the same praise moves it less
    # another source's episodes do not count
    third = sdk.post("/emotion/v1/personas", {"config": CONFIG}, format="json").json()["result"]["personaId"]
    assert "recurrence" not in _perceive_with(sdk, third, context={"priorEpisodes": [_episode(0.9, "Jun")]})


def test_a_stimulus_feeds_the_appraiser_when_no_appraisal_is_given(sdk, persona_id, settings):
    settings.EMOTION_APPRAISER = "lexicon"
    plain = _perceive_with(sdk, persona_id, appraisal=None, payload={"message": ""})
    other = sdk.post("/emotion/v1/personas", {"config": CONFIG}, format="json").json()["result"]["personaId"]
    stimulus = {"description": "Thank you so much, you are amazing!", "intensity": 1.0}
    moved = _perceive_with(sdk, other, appraisal=None, payload={"message": ""}, stimulus=stimulus)
    assert moved["appraisalSource"] == "lexicon"
    assert moved["appraisal"]["goal_congruence"] > plain["appraisal"]["goal_congruence"]
    assert moved["emotion"]["vad"]["V"] > plain["emotion"]["vad"]["V"]


def test_an_event_that_names_a_goal_achieves_it_and_the_persona_keeps_it(sdk, persona_id):
    moving = {**PRAISE, "goal_relevance": 1.0}
    result = _perceive_with(sdk, persona_id, appraisal=moving, payload={"message": "Your regulars are so happy!"})
    assert result["goalChanges"] == {"achieved": ["g1"]}
    assert result["memoryEpisode"]["importance"] >= 0.6  # an episode that matters asks for a reflection
    assert result["reflectionPrompt"]["system"].startswith("You are Sera")
    goals = sdk.get(f"/emotion/v1/personas/{persona_id}").json()["result"]["config"]["goals"]
    assert goals[0]["status"] == "achieved"
    assert "goalChanges" not in _perceive_with(sdk, persona_id, payload={"message": "Your regulars are happy!"})


def test_a_suppressing_persona_reports_its_mask_giving_way(sdk, persona_id):
    # no mask: an expressive persona has no prevMaskIntegrity and never reports an exposure
    assert "prevMaskIntegrity" not in sdk.get(f"/emotion/v1/personas/{persona_id}/state").json()["result"]
    PersonaSession.objects.filter(pk=persona_id).update(
        config={**PersonaSession.objects.get(pk=persona_id).config, "regulation": {"strategy": "suppression"}}
    )
    hostile = {**INSULT, "goal_relevance": 1, "controllability": 0}
    exposures = [_perceive_with(sdk, persona_id, appraisal=hostile).get("maskExposure") for _ in range(8)]
    exposure = next(item for item in exposures if item)
    assert exposure["type"] in ("leak", "break") and exposure["severity"] > 0.5
    state = sdk.get(f"/emotion/v1/personas/{persona_id}/state").json()["result"]
    assert state["prevMaskIntegrity"] < 0.5


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"stimulus": {"intensity": 2}}, "event.stimulus.intensity"),
        ({"stimulus": "loud"}, "event.stimulus"),
        ({"context": {"priorEpisodes": [{"importance": "high"}]}}, "context.priorEpisodes[0].importance"),
        ({"context": {"priorEpisodes": [{"appraisal": {**PRAISE, "agency": 3}}]}}, "priorEpisodes[0].appraisal.agency"),
    ],
)
def test_bad_stimulus_and_prior_episodes_are_validation_errors_and_write_nothing(
    sdk, persona_id, nothing_written, extra, field
):
    body = {"event": {"type": "chat_message", "payload": {"message": "hi"}, "appraisal": PRAISE}}
    if "stimulus" in extra:
        body["event"]["stimulus"] = extra["stimulus"]
    else:
        body["context"] = extra["context"]
    with nothing_written():
        error = assert_error(sdk.post(f"/emotion/v1/personas/{persona_id}/perceive", body, format="json"), 400,
                             "VALIDATION_ERROR")  # fmt: skip
    assert any(field in name for name in error["details"]["fields"]), error
