"""Response bodies in molroo's shapes: ``sessionId``/``createdAt`` camelCase on sessions, the engine's own
snake_case (``new_emotion``, ``prompt_data``...) on turns and state, as molroo returns them."""

from datetime import datetime
from typing import Any

from apps.personas.types import PersonaSession, PersonaTurn, ProactiveAction


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def session_created(session: PersonaSession) -> dict[str, Any]:
    return {
        "sessionId": session.id,
        "persona": session.persona,
        "config": session.config,
        "createdAt": iso(session.created_at),
    }


def session_detail(session: PersonaSession) -> dict[str, Any]:
    return {
        **session_created(session),
        "updatedAt": iso(session.updated_at),
        "turnCount": session.turn_count,
        "lastTurnAt": iso(session.last_turn_at),
        "proactive": proactive_preferences(session),
    }


def session_summary(session: PersonaSession) -> dict[str, Any]:
    identity = session.persona.get("identity") or {}
    return {
        "sessionId": session.id,
        "preset": session.preset or None,
        "name": identity.get("name") or None,
        "turnCount": session.turn_count,
        "createdAt": iso(session.created_at),
        "updatedAt": iso(session.updated_at),
    }


def turn_result(turn: PersonaTurn) -> dict[str, Any]:
    """molroo's ``POST /turn`` body (also the WebSocket's ``turn_result`` data): the engine's result fields,
    then ``proactive_hint`` and ``prompt_data``."""
    return {**turn.result.to_dict(), "proactive_hint": turn.proactive_hint, "prompt_data": turn.prompt_data}


def proactive_preferences(session: PersonaSession) -> dict[str, Any]:
    return {"enabled": session.proactive_enabled, "triggers": session.proactive_preferences.get("triggers", {})}


def proactive_action(action: ProactiveAction) -> dict[str, Any]:
    return {
        "id": action.id,
        "type": action.type,
        "message": action.message,
        "priority": action.priority,
        "metadata": action.metadata,
        "created_at": iso(action.created_at),
    }


def webhook(endpoint) -> dict[str, Any]:
    """molroo's webhook object; the secret is never shown again."""
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.event_types),
        "created_at": iso(endpoint.created_at),
    }
