"""Sinks for persona-session events (see ``apps.personas.events`` and ``settings.PERSONA_EVENT_SINKS``)."""

from apps.delivery.realtime import group_send_soon


def persona_group(session_id: str) -> str:
    """The channel-layer group the emotion WebSockets of one persona session listen on."""
    return f"persona.{session_id}"


class PersonaSocketSink:
    """After commit, one channel-layer message per commit to the session's group (``persona.events``)."""

    def publish(self, events: list[dict]) -> None:
        by_session: dict[str, list[dict]] = {}
        for event in events:
            by_session.setdefault(event["session_id"], []).append(event)
        for session_id, batch in by_session.items():
            group_send_soon(persona_group(session_id), {"type": "persona.events", "events": batch})


def persona_scope(session_id: str) -> str:
    """The webhook-endpoint scope of one persona session's molroo webhooks."""
    return f"persona:{session_id}"
