"""Writes for persona sessions, by topic: ``sessions`` (create, delete, stream tokens), ``turns`` (a turn,
and a native turn's preview and commit) and ``proactive_actions`` (molroo's proactive actions and
preferences). Other apps and the surfaces import from here."""

from apps.personas.services.proactive_actions import (
    persona_proactive_check,
    persona_proactive_preferences_update,
    persona_proactive_sweep,
    proactive_action_acknowledge,
)
from apps.personas.services.sessions import (
    character_persona_session_create,
    persona_session_create,
    persona_session_delete,
    persona_session_discard,
    persona_session_stream_token_issue,
    persona_sessions_erase,
)
from apps.personas.services.turns import persona_turn, persona_turn_commit, persona_turn_preview

__all__ = [
    "character_persona_session_create",
    "persona_proactive_check",
    "persona_proactive_preferences_update",
    "persona_proactive_sweep",
    "persona_session_create",
    "persona_session_delete",
    "persona_session_discard",
    "persona_session_stream_token_issue",
    "persona_sessions_erase",
    "persona_turn",
    "persona_turn_commit",
    "persona_turn_preview",
    "proactive_action_acknowledge",
]
