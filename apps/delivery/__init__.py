"""Pushing committed events out of the platform, on every path at once.

- Streams: ``sinks.ChannelLayerSink`` publishes each commit's events to the session's channel-layer group,
  which the native SSE stream and the emotion WebSocket read (``realtime``: group names, the hop from a
  worker thread to the server's loop).
- Webhooks: ``sinks.WebhookSink`` writes one delivery row per (event, endpoint) inside the appending
  transaction; senders sign (Standard Webhooks and the legacy header), retry on a schedule and guard
  against SSRF (``webhooks``, ``services``, ``sender``, ``signing``, ``network``).
- Telegram: managed bots per app, inbound updates turned into messages, outbound bubbles drained in cursor
  order (``telegram``; ``sinks.TelegramSink``).
- molroo's persona events (``persona_sinks``): the emotion WebSocket group and the persona webhooks.

The sinks are named in ``settings.EVENT_SINKS`` (the event bus, ``apps.core.events``); nothing below this
app imports it. Depends on conversations, personas and below.
"""
