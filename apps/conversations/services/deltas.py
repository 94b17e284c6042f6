"""A reply's text as it is written: ``message.delta`` frames for the session's event streams.

Deltas are ephemeral. They are never written to the log, never given a cursor and never sent to webhooks or
Telegram: they go to the sinks' ``flash`` (``apps.core.events``), which hands them to the session's
channel-layer group, where SSE streams forward them. A stream that connects late, or reconnects, catches up
from the log; the durable ``message.created`` that follows is the reply of record.

A worker streams a reply only while an event stream listens to its session (each stream marks its session
in the shared cache when it opens and at every heartbeat): a streamed call costs more CPU than a plain one,
and nobody would hear the deltas. Deltas are coalesced so that a fast model does not cost one publish per
token: the first goes out at once (time to first delta is what a listener feels), later ones at most every
``DELTA_INTERVAL_SECONDS``, and whatever is pending before the reply is written.
"""

import time
from contextlib import suppress

from django.conf import settings
from django.core.cache import cache

from apps.core.events import SESSION_EVENTS, events_flash
from apps.core.redis_cache import CACHE_UNREACHABLE

DELTA_INTERVAL_SECONDS = 0.05
_LISTENING_KEY = "session-listening:{}"


def delta_listen(*, session_id: str) -> None:
    """Mark ``session_id`` as listened to, for a little longer than the streams' heartbeat (not while Redis is
    down: the stream's next heartbeat marks it again)."""
    with suppress(*CACHE_UNREACHABLE):
        cache.set(_LISTENING_KEY.format(session_id), 1, timeout=int(settings.SSE_HEARTBEAT_SECONDS * 2) + 5)


def delta_listening(*, session_id: str) -> bool:
    """Whether an event stream listened to ``session_id`` within its last heartbeat (one cache read). While Redis
    is down, no: the turn goes on unstreamed rather than failing (its reply still reaches every stream)."""
    try:
        return cache.get(_LISTENING_KEY.format(session_id)) is not None
    except CACHE_UNREACHABLE:
        return False


class DeltaPublisher:
    """Coalesces one reply's deltas into ``message.delta`` frames (``run_ref``, ``index`` from 0, ``text``).
    An NPC turn has no run: its frames carry ``run_ref`` null."""

    def __init__(self, *, session_id: str, run_id: str | None = None) -> None:
        self.session_id = session_id
        self.run_id = run_id
        self.index = 0
        self._pending: list[str] = []
        self._sent_at = 0.0

    def add(self, text: str) -> None:
        self._pending.append(text)
        if time.monotonic() - self._sent_at >= DELTA_INTERVAL_SECONDS:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        frame = {
            "type": "message.delta",
            "session_id": self.session_id,
            "run_ref": self.run_id,
            "index": self.index,
            "text": "".join(self._pending),
        }
        self._pending.clear()
        self.index += 1
        self._sent_at = time.monotonic()
        events_flash(topic=SESSION_EVENTS, events=[frame])
