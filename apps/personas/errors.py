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
