"""Response bodies of the persona API in the SDK's shapes (``result`` holds each; the view wraps it)."""

from typing import Any

from apps.conversations.selectors import PersonaEpisode
from apps.conversations.services import Perception
from apps.personas.types import STAGES, PersonaSession

ENGINE_VERSION = "dramatis-emotion-1"


def epoch_ms(moment) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def persona_summary(session: PersonaSession) -> dict[str, Any]:
    """The SDK's ``PersonaSummary``, with ``personaId`` (what the SDK reads from ``POST /personas``)."""
    return {
        "id": session.id,
        "personaId": session.id,
        "tenantId": session.app_id,
        "config": session.spec,
        "engineVersion": ENGINE_VERSION,
        "createdAt": epoch_ms(session.created_at),
        "updatedAt": epoch_ms(session.updated_at),
    }


def episode(episode_id: str, text: str, data: dict[str, Any], score: float | None = None) -> dict[str, Any]:
    """The SDK's ``Episode``: the event's text as ``content``, its fields as recorded."""
    body = {"id": episode_id, "content": text, **data}
    if score is not None:
        body["score"] = score
    return body


def found_episode(found: PersonaEpisode) -> dict[str, Any]:
    return episode(found.id, found.text, found.data, found.score)


def agent_response(perception: Perception) -> dict[str, Any]:
    """The SDK's ``AgentResponse``: the emotion now, the episode recorded, the trust change toward the source,
    the stage transition; plus the appraisal used, where it came from, and the overflow flag."""
    result = perception.turn.result
    state = result.state
    body: dict[str, Any] = {
        "emotion": {
            "vad": state.vad.to_dict(),
            "discrete": state.discrete.to_dict(),
        },
        "memoryEpisode": episode(perception.episode_id, perception.text, perception.episode),
        "appraisal": result.appraisal.to_dict(),
        "appraisalSource": perception.appraisal_source,
        "bodyBudget": round(state.body_budget, 4),
        "emotionalOverflow": result.emotional_overflow,
    }
    source = perception.episode.get("sourceEntity")
    if source and result.trust_delta:
        body["socialUpdates"] = [{"entityId": source, "dimension": "trust", "delta": round(result.trust_delta, 4)}]
    if perception.recurrence:
        body["recurrence"] = perception.recurrence
    body.update(perception.turn.dynamics)  # goalChanges, maskExposure: when the step caused them
    if perception.reflection_prompt is not None:
        body["reflectionPrompt"] = perception.reflection_prompt
    if result.stage_transition:
        body["stageTransition"] = {
            "from": STAGES[result.previous_stage][0],
            "to": STAGES[state.stage][0],
            "fromId": result.previous_stage,
            "toId": state.stage,
        }
    return body
