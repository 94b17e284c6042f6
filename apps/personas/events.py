"""Announcing what happened to a persona session to the sinks named in ``settings.PERSONA_EVENT_SINKS``.

personas sits below delivery, so it never imports it; the sinks (dotted paths, the way Django names its
backends) are provided above. A sink may have ``record(events)``, called inside the transaction that
changed the session (so what it writes, e.g. webhook delivery rows, commits or rolls back with the turn),
and ``publish(events)``, called after that commit (pushes to open WebSockets).

An event is ``{"id", "type", "app_id", "session_id", "created_at", "data", "origin"}`` with ``type`` one of
``turn_result`` (pushed to sockets only), ``stage_transition``, ``emotional_overflow``, ``proactive_action``,
``session_deleted`` (the session is gone: its webhooks go too);
``origin`` names the socket that caused it, so that socket is not told twice.
"""

from functools import cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from apps.core import clock
from apps.core.ids import new_id

WEBHOOK_EVENT_TYPES = ("proactive_action", "emotional_overflow", "stage_transition")


@cache
def _sinks(paths: tuple[str, ...]) -> list[Any]:
    return [import_string(path)() for path in paths]


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
    if not events:
        return
    sinks = _sinks(tuple(settings.PERSONA_EVENT_SINKS))
    for sink in sinks:
        if hasattr(sink, "record"):
            sink.record(events)
    publishers = [sink for sink in sinks if hasattr(sink, "publish")]
    if publishers:
        transaction.on_commit(lambda: [sink.publish(events) for sink in publishers])
