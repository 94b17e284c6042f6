"""Writes for persona sessions, by topic: ``sessions`` (create, delete, stream tokens), ``turns`` (a turn,
and a native turn's preview and commit), ``proactive_actions`` (molroo's proactive actions and
preferences), ``persona_api`` (the SDK's personas: config, soft delete, perceive, tick, snapshots) and
``worlds`` (several personas in a scene: members, actions, relationships, interactions). Other apps and the
surfaces import from here."""

from apps.personas.services.persona_api import (
    PERSONA_RETENTION,
    persona_create,
    persona_delete,
    persona_emotion_set,
    persona_perceive_apply,
    persona_perceive_appraise,
    persona_restore,
    persona_snapshot_restore,
    persona_tick,
    persona_update,
    personas_deleted_purge,
)
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
from apps.personas.services.worlds import (
    WorldInteraction,
    world_action_create,
    world_action_delete,
    world_create,
    world_delete,
    world_interact,
    world_member_add,
    world_member_remove,
    world_member_tick,
    world_relationship_delete,
    world_relationship_set,
    world_update,
)

__all__ = [
    "WorldInteraction",
    "world_action_create",
    "world_action_delete",
    "world_create",
    "world_delete",
    "world_interact",
    "world_member_add",
    "world_member_remove",
    "world_member_tick",
    "world_relationship_delete",
    "world_relationship_set",
    "world_update",
    "PERSONA_RETENTION",
    "persona_create",
    "persona_delete",
    "persona_emotion_set",
    "persona_perceive_appraise",
    "persona_perceive_apply",
    "persona_restore",
    "persona_snapshot_restore",
    "persona_tick",
    "persona_update",
    "personas_deleted_purge",
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
