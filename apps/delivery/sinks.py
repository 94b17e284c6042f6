"""Sinks of a session's event log: topic ``SESSION_EVENTS`` of ``apps.core.events``, listed in
``settings.EVENT_SINKS``."""

import threading
from itertools import groupby

from apps.core import executor
from apps.core.events import SESSION_EVENTS
from apps.delivery import selectors, services
from apps.delivery.realtime import group_send_soon, session_group
from apps.delivery.telegram.services import outbound

# Named, not imported: where a chat's drain runs is the executor's business.
TELEGRAM_DRAIN_TASK = "apps.delivery.telegram.tasks.telegram_chat_drain_task"

# The push routes WebhookSink.record read for the last one-session append of this thread, kept for
# TelegramSink.publish after that append's commit (the same events list), so an append reads them once.
_recorded = threading.local()


def _routes_recorded(events: list[dict]):
    last = getattr(_recorded, "last", None)
    return last[1] if last is not None and last[0] is events else None


class ChannelLayerSink:
    """Sends one commit's events to their session's channel-layer group, where SSE and WebSocket streams listen.

    One message per session per commit (``{"type": "session.events", "events": [...]}``, in cursor order):
    each publish costs ~0.5 ms of CPU in the sending process, so a message send's two events go out as one.
    """

    topics = (SESSION_EVENTS,)

    def publish(self, events: list[dict]) -> None:
        for session_id, batch in groupby(events, key=lambda event: event["session_id"]):
            group_send_soon(session_group(session_id), {"type": "session.events", "events": list(batch)})

    def flash(self, frames: list[dict]) -> None:
        """Ephemeral frames (``message.delta``) to the same group, as ``{"type": "session.flash", "frames"}``."""
        for session_id, batch in groupby(frames, key=lambda frame: frame["session_id"]):
            group_send_soon(session_group(session_id), {"type": "session.flash", "frames": list(batch)})


class TelegramSink:
    """Kicks the sender of every Telegram chat bound to a session that got a deliverable event.

    It writes nothing: the chat's sender reads the session's event log from its own cursor, so a kick
    that never happens only delays the message until the sweep (see ``telegram.outbound``).
    """

    topics = (SESSION_EVENTS,)

    def publish(self, events: list[dict]) -> None:
        session_ids = list({event["session_id"] for event in events if outbound.event_is_deliverable(event)})
        if not session_ids:
            return
        recorded = _routes_recorded(events)
        chats = recorded.chats if recorded is not None else outbound.chats_for_sessions(session_ids=session_ids)
        for chat_id in chats:
            executor.submit(TELEGRAM_DRAIN_TASK, chat_id)


class WebhookSink:
    """Writes webhook delivery rows inside the appending transaction (``record``), so a committed event
    always has them; they are sent after commit (see ``services.deliveries``)."""

    topics = (SESSION_EVENTS,)

    def record(self, events: list[dict]) -> None:
        session_ids = {event["session_id"] for event in events}
        if len(session_ids) == 1:
            routes = selectors.session_push_routes(session_id=next(iter(session_ids)))
            _recorded.last = (events, routes)
            services.webhook_deliveries_record(events, session_endpoints=routes.endpoints())
        else:
            services.webhook_deliveries_record(events)

    def publish(self, events: list[dict]) -> None:
        """Nothing to do: ``record`` already queued the send for after commit."""
