"""molroo's persona events: what happened to a persona session, announced on the event bus
(``apps.core.events``, topic ``PERSONA_EVENTS``); the ``delivery`` app's persona sinks push them to the
emotion WebSockets and the persona webhooks.

An event is ``{"id", "type", "app_id", "session_id", "created_at", "data", "origin"}`` with ``type`` one of
``turn_result`` (pushed to sockets only), ``stage_transition``, ``emotional_overflow``, ``proactive_action``,
``session_deleted`` (the session is gone: its webhooks go too);
``origin`` names the socket (or the native run, ``native:<run id>``) that caused it, so that socket is not
told twice. Native turns announce them too: see ``apps.core.events``.
"""

from typing import Any

from apps.core import clock
from apps.core.events import PERSONA_EVENTS, events_emit
from apps.core.ids import new_id


def persona_event(
    *, type: str, app_id: str, session_id: str, data: dict[str, Any], origin: str | None = None
) -> dict[str, Any]:
    return {
        "id": new_id("pev"),
        "type": type,
        "app_id": app_id,
        "session_id": session_id,
        "created_at": clock.now().isoformat().replace("+00:00", "Z"),
        "data": data,
        "origin": origin,
    }


def persona_events_emit(events: list[dict[str, Any]]) -> None:
    """Record ``events`` in the current transaction and publish them after it commits."""
    events_emit(topic=PERSONA_EVENTS, events=events)
