"""Errors of the personas app, the engine's input errors included (they live beside the pure engine, which
raises them, and are named here so other apps catch them through this module)."""

from apps.core.errors import NotFound
from apps.personas.engine.errors import EngineInputInvalid, UnknownPreset

__all__ = [
    "EngineInputInvalid",
    "PersonaNotFound",
    "PersonaSessionNotFound",
    "ProactiveActionNotFound",
    "UnknownPreset",
    "WorldActionNotFound",
    "WorldMemberNotFound",
    "WorldNotFound",
    "WorldRelationshipNotFound",
]


class PersonaSessionNotFound(NotFound):
    code = "persona_session_not_found"
    fix = "Check the sessionId; sessions of other apps are not visible to your key."


class ProactiveActionNotFound(NotFound):
    code = "proactive_action_not_found"
    fix = "Use an id from GET /emotion/v1/proactive/{sessionId}."


class PersonaNotFound(NotFound):
    code = "persona_not_found"
    fix = "Check the persona id; personas of other apps, and deleted ones, are not visible to your key."


class WorldNotFound(NotFound):
    code = "world_not_found"
    fix = "Check the world id; worlds of other apps, and deleted ones, are not visible to your key."


class WorldMemberNotFound(NotFound):
    code = "world_member_not_found"
    fix = "Use a member id from GET /worlds/{id}/personas (or the member's persona id)."


class WorldActionNotFound(NotFound):
    code = "world_action_not_found"
    fix = "Use the id of one of the world's own actions; the default actions cannot be deleted."


class WorldRelationshipNotFound(NotFound):
    code = "world_relationship_not_found"
    fix = "Use a relationship id from GET /worlds/{id}/relationships."
