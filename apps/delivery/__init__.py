"""Pushing committed events out of the platform.

Today: the channel-layer sink that feeds SSE (and later WebSocket) subscribers. Webhooks and Telegram
arrive here later. Public surface: ``sinks.ChannelLayerSink`` (named in ``settings.EVENT_SINKS``) and
``realtime`` (group names, subscription helpers). Depends on conversations and below.
"""
