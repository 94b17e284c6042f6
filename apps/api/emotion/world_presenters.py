"""Response bodies of the world API in the SDK's snake_case shapes (the view wraps each in ``result``)."""

from typing import Any

from apps.api.emotion.persona_presenters import epoch_ms
from apps.personas.types import PersonaTurn, WorldInteraction, WorldMember, WorldRecord, WorldRelationship

APPRAISAL_WIRE = (
    "goal_relevance",
    "goal_congruence",
    "expectedness",
    "controllability",
    "agency",
    "norm_compatibility",
)


def world(record: WorldRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "tenant_id": record.app_id,
        "name": record.name,
        "description": record.description or None,
        "access_policy": record.access_policy,
        "response_rule": record.response_rule,
        "created_at": epoch_ms(record.created_at),
        "updated_at": epoch_ms(record.updated_at),
    }


def member_ref(member: WorldMember) -> dict[str, Any]:
    return {
        "id": member.id,
        "persona_id": member.persona_id,
        "persona_config_id": member.config_ref,
        "display_name": member.display_name,
        "created_at": epoch_ms(member.created_at),
    }


def emotion_of(state: dict[str, Any]) -> dict[str, Any]:
    """A stored engine state as the world API's emotion: VAD, label, secondary label, intensity."""
    discrete = state["discrete_emotion"]
    return {
        "vad": state["emotion"],
        "label": discrete["primary"],
        "secondary_label": discrete.get("secondary") or None,
        "intensity": state["emotion_intensity"],
    }


def member_detail(member: WorldMember) -> dict[str, Any]:
    persona = member.persona
    return {
        **member_ref(member),
        "config": persona.spec,
        "state": {"emotion": emotion_of(persona.state), "somatic": []},
    }


def action(item: dict[str, Any]) -> dict[str, Any]:
    vector = {name: item["appraisal"].get(name) for name in APPRAISAL_WIRE}
    return {
        "id": item["id"],
        "name": item["name"],
        "description": item["description"],
        "appraisal_vector": {**item["appraisal"], **vector},
        "is_default": item["is_default"],
    }


def relationship(rel: WorldRelationship) -> dict[str, Any]:
    return {
        "id": rel.id,
        "source_type": rel.source_type,
        "source_id": rel.source_ref,
        "target_type": rel.target_type,
        "target_id": rel.target_ref,
        "relationship_type": rel.kind or None,
        "description": rel.description or None,
        "strength": rel.strength,
        "trust": rel.trust,
        "updated_at": epoch_ms(rel.updated_at),
    }


def _turn_emotion(turn: PersonaTurn) -> dict[str, Any]:
    return emotion_of(turn.result.state.to_dict())


def interaction(outcome: WorldInteraction) -> dict[str, Any]:
    """The SDK's ``InteractResult``, plus the witnesses' reactions, the relationship and the event's id."""
    emotion = _turn_emotion(outcome.turn)
    after = outcome.turn.result.state.vad
    emotion["delta"] = {
        "V": round(after.V - outcome.before.V, 4),
        "A": round(after.A - outcome.before.A, 4),
        "D": round(after.D - outcome.before.D, 4),
    }
    return {
        "action": outcome.action,
        "target": outcome.target.id,
        "emotion": emotion,
        "somatic": [],
        "stage_transition": outcome.turn.result.stage_transition,
        "reactions": [{"persona": member.id, "emotion": _turn_emotion(turn)} for member, turn in outcome.reactions],
        "relationship": relationship(outcome.relationship) if outcome.relationship is not None else None,
        "event_id": str(outcome.event.id),
    }


def event(item) -> dict[str, Any]:
    return {"id": str(item.id), "type": item.type, "data": item.data, "created_at": epoch_ms(item.created_at)}
