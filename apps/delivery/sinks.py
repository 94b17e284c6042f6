"""Event sinks the pipeline announces committed events to (see ``settings.EVENT_SINKS``)."""

from apps.delivery.realtime import group_send_soon, session_group


class ChannelLayerSink:
    """Sends each event to its session's channel-layer group, where SSE and WebSocket streams listen."""

    def publish(self, events: list[dict]) -> None:
        for event in events:
            group_send_soon(session_group(event["session_id"]), {"type": "session.event", "event": event})
