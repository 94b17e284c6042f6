"""Errors of the personas app (the engine's input errors are in ``apps.personas.engine.errors``)."""

from apps.core.errors import NotFound


class PersonaSessionNotFound(NotFound):
    code = "persona_session_not_found"
    fix = "Check the sessionId; sessions of other apps are not visible to your key."


class ProactiveActionNotFound(NotFound):
    code = "proactive_action_not_found"
    fix = "Use an id from GET /emotion/v1/proactive/{sessionId}."
