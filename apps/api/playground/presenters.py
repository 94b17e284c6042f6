"""The JSON shapes the playground's script reads: characters, NPCs, a session, its emotion and an NPC's state."""

from typing import Any

from apps.npcs import selectors as npcs_selectors


def character(row) -> dict[str, Any]:
    return {"id": row.id, "slug": row.slug, "display_name": row.display_name}


def npc(row) -> dict[str, Any]:
    return {"id": row.id, "name": npcs_selectors.npc_name(row), "character_slug": row.character.slug}


def session(row) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": "npc" if row.playthrough_id else "chat",
        "character": character(row.character),
        "end_user_ref": row.external_user_ref,
        "last_cursor": row.last_cursor,
    }


def emotion(state: dict[str, Any]) -> dict[str, Any]:
    """The parts of a session's emotion state the panel shows, named as in ``emotion.updated`` events."""
    discrete = state.get("discrete_emotion") or {}
    return {
        "emotion": state.get("emotion"),
        "discrete_emotion": discrete,
        "intensity": state.get("intensity", discrete.get("intensity")),
        "trust": (state.get("relationship") or {}).get("trust", state.get("trust")),
        "turns": state.get("turns", 0),
    }


def playthrough(row) -> dict[str, Any]:
    return {
        "npc_id": row.npc_id,
        "machine": row.machine.name or row.machine.key,
        "state_key": row.current_state.key,
        "score": row.score,
        "outcome": row.outcome or None,
        "decision": None,
    }


def npc_step(step) -> dict[str, Any]:
    """An NPC turn's outcome: where the player is now, the score, how the scenario ended (None: still playing)."""
    return {**playthrough(step.playthrough), "decision": step.result.decision}
