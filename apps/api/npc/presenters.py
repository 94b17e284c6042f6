"""Foil's response bodies, exactly the fields of the SDK's dataclasses (``foilengine.types``): the SDK
builds them with ``Type(**body)``, so a field more or less breaks it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apps.conversations.models import Event, Session
    from apps.conversations.services import NpcSessionOpened, NpcTurn, NpcTurnStream
    from apps.npcs.types import NPC, Machine, Playthrough, StepResult


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _name(npc: NPC) -> str:
    version = npc.character.current_version
    content = version.content if version is not None else {}
    return content.get("display_name") or npc.character.display_name


def _description(npc: NPC) -> str | None:
    version = npc.character.current_version
    content = version.content if version is not None else {}
    return (content.get("profile") or {}).get("visible_bio") or None


def persona(npc: NPC) -> dict[str, Any]:
    return {
        "id": npc.id,
        "name": _name(npc),
        "description": _description(npc),
        "created_at": _time(npc.created_at),
        "updated_at": _time(npc.updated_at),
    }


def session_init(opened: NpcSessionOpened) -> dict[str, Any]:
    playthrough = opened.playthrough
    return {
        "session_id": opened.session.id,
        "user_session_id": playthrough.player_session_id,
        "persona_name": _name(playthrough.npc),
        "persona_description": _description(playthrough.npc),
        "player_name": playthrough.player_name,
        "player_gender": playthrough.player_gender,
        "message": opened.message,
        "machine_id": playthrough.machine_id,
    }


def _unlocked(unlocked) -> list[dict[str, Any]]:
    return [
        {
            "machine_id": item.machine_id,
            "machine_key": item.machine_key,
            "name": item.name,
            "is_auto_advance": item.is_auto_advance,
        }
        for item in unlocked
    ]


def _step_fields(session_id: str, scoring_mode: str, result: StepResult, unlocked) -> dict[str, Any]:
    """Every field of a chat response but the message: what the step did (``ChatStreamMetadata``)."""
    return {
        "current_state": result.state.state_key,
        "score": result.state.score,
        "outcome": result.state.outcome,
        "decision": result.decision,
        "follow_up": result.follow_up,
        "session_id": session_id,
        "scoring_mode": scoring_mode,
        "redirect_count": result.redirect_count,
        "machine_completed": result.machine_completed,
        "unlocked_machines": _unlocked(unlocked),
    }


def chat_response(turn: NpcTurn) -> dict[str, Any]:
    playthrough = turn.step.playthrough
    fields = _step_fields(turn.session.id, playthrough.machine.scoring_mode, turn.step.result, turn.unlocked)
    return {"message": turn.reply, **fields}


def stream_metadata(stream: NpcTurnStream) -> dict[str, Any]:
    """The stream's first event: the step the turn applies, known before the reply's first token."""
    return _step_fields(stream.session.id, stream.playthrough.machine.scoring_mode, stream.outcome, stream.unlocked)


def _status(playthrough: Playthrough, session: Session | None) -> dict[str, Any]:
    return {
        "session_id": session.id if session is not None else playthrough.id,
        "persona_id": playthrough.npc_id,
        "current_state": playthrough.current_state.key,
        "score": playthrough.score,
        "outcome": playthrough.outcome or None,
        "player_name": playthrough.player_name or None,
        "player_gender": playthrough.player_gender or None,
        "started_at": _time(playthrough.started_at),
        "last_message_at": _time(playthrough.last_message_at or playthrough.started_at),
    }


def session_status(playthrough: Playthrough, session: Session | None) -> dict[str, Any]:
    return {**_status(playthrough, session), "machine_id": playthrough.machine_id}


def message(event: Event) -> dict[str, Any]:
    payload = event.payload
    return {
        "id": str(event.pk),
        "role": "user" if event.role == "user" else "assistant",
        "content": str(payload.get("text", "")),
        "state_key_at_time": payload.get("state_key"),
        "score_at_time": payload.get("score"),
        "decision": payload.get("decision"),
        "follow_up_triggered": bool(payload.get("follow_up", False)),
        "created_at": _time(event.created_at),
    }


def chat_history(playthrough: Playthrough, session: Session | None, events: list[Event]) -> dict[str, Any]:
    return {**_status(playthrough, session), "messages": [message(event) for event in events]}


def reset_result(opened: list[NpcSessionOpened]) -> dict[str, Any]:
    first = opened[0]
    return {"session_id": first.session.id, "message": first.message}


def machine_info(machine: Machine, playthrough: Playthrough | None, linked: bool) -> dict[str, Any]:
    return {
        "machine_id": machine.id,
        "machine_key": machine.key,
        "name": machine.name,
        "description": machine.description or None,
        "has_session": playthrough is not None,
        "session_outcome": (playthrough.outcome or None) if playthrough is not None else None,
        "is_linked": linked,
    }


def persona_detail(npc: NPC) -> dict[str, Any]:
    """A persona as persona management shows it: the SDK's fields, its identity prompt and visibility."""
    version = npc.character.current_version
    direction = (version.content if version is not None else {}).get("character_direction")
    return {
        **persona(npc),
        "identity_prompt": direction if isinstance(direction, str) else "",
        "is_public": npc.is_public,
    }
