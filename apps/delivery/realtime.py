"""Channel-layer plumbing shared by the sink (publisher) and the streams (subscribers).

Publishing happens from sync code (request threads, Celery workers, run threads) and must not block
them, so coroutines are handed to a long-lived event loop:

- with the in-memory layer (embedded default) that is the web server's own loop, recorded by the first
  stream that subscribes, because in-memory queues only work on the loop that waits on them;
- otherwise a private loop on a daemon thread, which keeps the Redis connections warm across events.
"""

import asyncio
import threading
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer

_server_loop: asyncio.AbstractEventLoop | None = None
_private_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def session_group(session_id: str) -> str:
    return f"session.{session_id}"


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


def group_send_soon(group: str, message: dict[str, Any]) -> None:
    """Schedule ``group_send`` without waiting for it."""
    layer = get_channel_layer()
    if layer is None:
        return
    if isinstance(layer, InMemoryChannelLayer):
        loop = _server_loop
        if loop is None or loop.is_closed():
            return  # nobody in this process subscribes; the event stays in the log for polling
    else:
        loop = _private()
    asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
