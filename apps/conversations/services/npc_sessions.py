"""NPC sessions: a player's playthrough started or restarted, each run through a machine opened as a session
whose first event is the NPC's opening line (the character's greeting, else a hello by name: no model call).
The turns that follow are ``npc_turns``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction

from apps.accounts import services as accounts_services
from apps.conversations.models import Session
from apps.conversations.services.events import NewEvent, events_append
from apps.conversations.services.memory import memory_ensure
from apps.npcs import selectors as npcs_selectors
from apps.npcs import services as npcs_services

if TYPE_CHECKING:
    from apps.accounts.models import App
    from apps.npcs.types import Playthrough


@dataclass(frozen=True)
class NpcSessionOpened:
    playthrough: Playthrough
    session: Session
    message: str


def opening(playthrough: Playthrough, player_name: str) -> str:
    """The NPC's first line: the character's greeting, else a plain hello by name (no model call)."""
    version = playthrough.npc.character.current_version
    greeting = ((version.content if version is not None else {}).get("greeting") or "").strip()
    if greeting:
        return greeting
    name = npcs_selectors.npc_name(playthrough.npc)
    return f'{name} looks up. "Hello, {player_name}."' if player_name else f'{name} looks up. "Hello."'


def session_open(app: App, playthrough: Playthrough, message: str) -> Session:
    character = playthrough.npc.character
    accounts_services.app_quota_consume(app=app, resource="sessions")
    # The player's memory with this NPC's character: a later scenario, or a restart, remembers them.
    memory_id = memory_ensure(app_id=app.id, character_id=character.id, external_user_ref=playthrough.player_session_id)
    session = Session.objects.create(
        app=app,
        character=character,
        memory_id=memory_id,
        character_version=character.current_version,
        external_user_ref=playthrough.player_session_id,
        playthrough=playthrough,
    )
    payload = {
        "text": message,
        "bubbles": [message],
        "kind": "greeting",
        "state_key": playthrough.current_state.key,
        "score": playthrough.score,
        "decision": None,
    }
    events_append(session_id=session.id, events=[NewEvent("character.initiated", payload, role="character")])
    session.last_cursor = 1
    return session


@transaction.atomic
def npc_session_start(
    *,
    app: App,
    npc_id: str,
    player_session_id: str,
    player_name: str,
    player_gender: str,
    machine_id: str | None = None,
) -> NpcSessionOpened:
    """Start (or start again) the player's playthrough and open its session with the NPC's first line.

    Raises the errors of ``npcs.services.playthrough_start`` (NpcNotFound, MachineNotFound,
    MachineNotAvailable) and the app's session quota.
    """
    playthrough = npcs_services.playthrough_start(
        app=app,
        npc_id=npc_id,
        player_session_id=player_session_id,
        player_name=player_name,
        player_gender=player_gender,
        machine_id=machine_id,
    )
    message = opening(playthrough, player_name)
    return NpcSessionOpened(playthrough, session_open(app, playthrough, message), message)


@transaction.atomic
def npc_session_reset(
    *, app: App, npc_id: str, player_session_id: str, machine_id: str | None = None
) -> list[NpcSessionOpened]:
    """Send the player back to the start of one machine or all of them; each restarted playthrough gets a
    new session. Raises PlaythroughNotFound."""
    playthroughs = npcs_services.playthrough_reset(
        app=app, npc_id=npc_id, player_session_id=player_session_id, machine_id=machine_id
    )
    opened = []
    for playthrough in playthroughs:
        message = opening(playthrough, playthrough.player_name)
        opened.append(NpcSessionOpened(playthrough, session_open(app, playthrough, message), message))
    return opened
