"""Sinks of molroo's persona events (topic ``PERSONA_EVENTS`` of ``apps.core.events``, listed in
``settings.EVENT_SINKS``; the events are described in ``apps.personas.events``)."""

from apps.core.events import PERSONA_EVENTS
from apps.delivery.realtime import group_send_soon, persona_group
from apps.delivery.webhooks.selectors import persona_scope
from apps.delivery.webhooks.services import scope_webhook_endpoints_delete, webhook_event_enqueue

# The persona events molroo's webhooks carry (``turn_result`` goes to the sockets only).
WEBHOOK_EVENT_TYPES = ("proactive_action", "emotional_overflow", "stage_transition")


class PersonaSocketSink:
    """After commit, one channel-layer message per commit to the session's group (``persona.events``)."""

    topics = (PERSONA_EVENTS,)

    def publish(self, events: list[dict]) -> None:
        by_session: dict[str, list[dict]] = {}
        for event in events:
            by_session.setdefault(event["session_id"], []).append(event)
        for session_id, batch in by_session.items():
            group_send_soon(persona_group(session_id), {"type": "persona.events", "events": batch})


class PersonaWebhookSink:
    """Inside the turn's transaction: one delivery row per webhook of the session that takes the event.

    The POSTed body is ``{"event", "id", "session_id", "created_at", "data"}``; ``id`` is also the
    ``webhook-id`` receivers deduplicate on. A deleted session's webhooks are deleted with it (their pending
    deliveries are cancelled), in the same transaction.
    """

    topics = (PERSONA_EVENTS,)

    def record(self, events: list[dict]) -> None:
        for event in events:
            if event["type"] == "session_deleted":
                scope_webhook_endpoints_delete(app_id=event["app_id"], scope=persona_scope(event["session_id"]))
            elif event["type"] in WEBHOOK_EVENT_TYPES:
                webhook_event_enqueue(
                    app_id=event["app_id"],
                    event_id=event["id"],
                    event_type=event["type"],
                    scope=persona_scope(event["session_id"]),
                    payload={
                        "event": event["type"],
                        "id": event["id"],
                        "session_id": event["session_id"],
                        "created_at": event["created_at"],
                        "data": event["data"],
                    },
                )
