"""Pushing committed events out of the platform, on every path at once.

Two channels, each a package with the same rooms (``services``, ``selectors``, ``errors``, ``types`` as its
doors; ``models``, ``admin`` and its private modules behind them), and the streams beside them:

- ``webhooks/``: endpoints (per session, per app, per producer scope) and their delivery rows, written
  inside the appending transaction and sent after commit. ``sender`` signs (``signing``: Standard Webhooks
  and the legacy header) and POSTs over aiohttp, retrying on a schedule; ``network`` is the SSRF guard,
  used on registration and again on every send (Telegram calls only the Bot API, so it stays here).
- ``telegram/``: managed bots per app. ``services`` holds ``channels`` (connect / verify / delete),
  ``inbound`` (an update, already read from the Bot API's JSON by ``apps/api/hooks``, becomes a message)
  and ``outbound`` (events drained in cursor order per chat); ``bot_api`` is its private HTTP client.
- Streams: ``realtime`` names the channel-layer groups the native SSE / WebSocket and the emotion WebSocket
  listen on, and hops from a worker thread to the server's loop.
- ``routes``: where a session's events go besides its streams (its webhooks and bound chats), cached for
  every process; both channels read and invalidate it.
- ``sinks`` and ``persona_sinks``: what the pipeline announces committed events to (named in
  ``settings.EVENT_SINKS``, the one event bus of ``apps.core.events``); ``tasks`` (here and in ``telegram/``):
  the sends that ``apps.core.executor`` runs.

The top-level ``services``, ``selectors``, ``errors`` are the app's doors for other apps and surfaces: the
webhook services and reads, the streams' group names, the deliveries of events on every channel, and every
error. Telegram and webhooks may also be reached through their own doors (``apps.delivery.telegram.services``
...). Nothing below this app imports it. Depends on conversations, personas and below.
"""
