"""Channel-layer plumbing shared by the sink (publisher) and the streams (subscribers).

Publishing happens from sync code (request threads, Celery workers, run threads) and must not block
them, so coroutines are handed to a long-lived event loop:

- with the in-memory layer (embedded default) that is the web server's own loop, recorded by the first
  stream that subscribes, because in-memory queues only work on the loop that waits on them;
- otherwise a private loop on a daemon thread, which keeps the Redis connections warm across events.

With Channels' Redis pub/sub layer on a single Redis host (the production set-up) a group message is one
Redis PUBLISH, so it is sent straight from the calling thread with a synchronous client instead: the
asyncio path cost ~0.5 ms of CPU per message (about a tenth of a message send under daphne), the direct
PUBLISH ~0.05 ms. It encodes with the layer's own ``serialize`` and names the Redis channel the way
the layer does; ``test_realtime.py`` pins that naming against the installed channels_redis.
"""

import asyncio
import threading
from functools import cache
from typing import Any

import redis
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

_server_loop: asyncio.AbstractEventLoop | None = None
_private_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def session_group(session_id: str) -> str:
    """The group the native SSE and WebSocket streams of one conversation session listen on."""
    return f"session.{session_id}"


def persona_group(session_id: str) -> str:
    """The group the emotion WebSockets of one persona session listen on."""
    return f"persona.{session_id}"


def server_loop_remember(loop: asyncio.AbstractEventLoop) -> None:
    """Record the serving loop; called by subscribers before they join a group."""
    global _server_loop
    _server_loop = loop


def _private() -> asyncio.AbstractEventLoop:
    global _private_loop
    with _lock:
        if _private_loop is None or _private_loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="dramatis-publisher", daemon=True).start()
            _private_loop = loop
        return _private_loop


def pubsub_group_channel(group: str) -> str:
    """The Redis channel RedisPubSubChannelLayer uses for ``group`` (its ``prefix``, default "asgi")."""
    prefix = settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("prefix", "asgi")
    return f"{prefix}__group__{group}"


@cache
def _direct_publisher() -> redis.Redis | None:
    """A sync client for the layer's only Redis host, or None when the layer is not set up that way."""
    config = settings.CHANNEL_LAYERS["default"]
    hosts = config.get("CONFIG", {}).get("hosts", [])
    if config["BACKEND"] != "channels_redis.pubsub.RedisPubSubChannelLayer" or len(hosts) != 1:
        return None
    if not isinstance(hosts[0], str) or config["CONFIG"].get("symmetric_encryption_keys"):
        return None
    return redis.Redis.from_url(hosts[0], socket_timeout=2, socket_connect_timeout=2)


def group_send_soon(group: str, message: dict[str, Any]) -> None:
    """Send ``message`` to ``group`` without waiting on an event loop."""
    layer = get_channel_layer()
    if layer is None:
        return
    if isinstance(layer, RedisPubSubChannelLayer) and (publisher := _direct_publisher()) is not None:
        publisher.publish(pubsub_group_channel(group), layer.serialize(message))
        return
    if isinstance(layer, InMemoryChannelLayer):
        loop = _server_loop
        if loop is None or loop.is_closed():
            return  # nobody in this process subscribes; the event stays in the log for polling
    else:
        loop = _private()
    asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
