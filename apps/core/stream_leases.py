"""How many streams (SSE responses, WebSockets) one caller holds open at once, across every web process.

Each open stream holds a lease: a member of a Redis sorted set per caller, scored by the time it lapses.
Taking a lease first drops the caller's lapsed members, then adds one only if fewer than
``STREAM_MAX_CONNECTIONS_PER_KEY`` remain, in one Lua script (atomic on the server, so two processes cannot
both take the last slot). A live stream pushes its lease's expiry forward every third of
``STREAM_LEASE_SECONDS`` and removes it when it ends; a process that crashes leaves leases that lapse on their
own, so a dead server's streams stop counting within ``STREAM_LEASE_SECONDS``.

Without ``REDIS_URL`` (the embedded default: one process) the same sets live in this process's memory.
A Redis that cannot be reached lets the stream open uncounted (logged), as the request rate limiter does: an
outage of the counter's store should not close every app's streams.
"""

import logging
import threading
import time
import uuid

import redis
from django.conf import settings

from apps.core.errors import StreamLimitReached

logger = logging.getLogger(__name__)
REDIS_TIMEOUT_SECONDS = 1.0

# KEYS[1] the caller's set; ARGV: now, expiry of the new lease, its member, the limit, the set's TTL.
# Returns 0 when the caller is at the limit, else 1 (the lease is held).
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

_client: "redis.Redis | None" = None
_client_lock = threading.Lock()
_acquire_script = None
_memory: dict[str, dict[str, float]] = {}
_memory_lock = threading.Lock()


def _redis() -> "redis.Redis":
    global _client, _acquire_script
    if _client is None:
        with _client_lock:
            if _client is None:
                client = redis.Redis.from_url(
                    settings.REDIS_URL,
                    socket_timeout=REDIS_TIMEOUT_SECONDS,
                    socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                )
                _acquire_script = client.register_script(_ACQUIRE)
                _client = client
    return _client


def stream_leases_reset() -> None:
    """Forget the process's client and in-memory leases (tests that switch ``REDIS_URL``)."""
    global _client, _acquire_script
    with _client_lock:
        _client, _acquire_script = None, None
    with _memory_lock:
        _memory.clear()


def _set_key(owner: str) -> str:
    return f"{settings.STREAM_LEASE_KEY_PREFIX}:{owner}"


class StreamLease:
    """One open stream's place in its caller's count. ``refresh`` while the stream lives, ``release`` at its end
    (both are cheap to call often: ``refresh`` writes only once a third of the lease has gone by)."""

    def __init__(self, owner: str, member: str, *, counted: bool) -> None:
        self.owner, self.member, self.counted = owner, member, counted
        self._refreshed_at = time.monotonic()
        self.released = False

    def refresh(self, *, force: bool = False) -> None:
        seconds = settings.STREAM_LEASE_SECONDS
        if self.released or not self.counted or (not force and time.monotonic() - self._refreshed_at < seconds / 3):
            return
        self._refreshed_at = time.monotonic()
        expiry = time.time() + seconds
        if not settings.REDIS_URL:
            with _memory_lock:
                _memory.setdefault(self.owner, {})[self.member] = expiry
            return
        try:
            # Re-adds a lease that lapsed (a stalled process): the stream is open, so it counts again.
            pipeline = _redis().pipeline(transaction=False)
            pipeline.zadd(_set_key(self.owner), {self.member: expiry})
            pipeline.expire(_set_key(self.owner), int(seconds) + 1)
            pipeline.execute()
        except redis.RedisError as error:
            logger.warning("Stream lease not refreshed: Redis unreachable (%s)", error)

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        if not self.counted:
            return
        if not settings.REDIS_URL:
            with _memory_lock:
                _memory.get(self.owner, {}).pop(self.member, None)
            return
        try:
            _redis().zrem(_set_key(self.owner), self.member)
        except redis.RedisError as error:  # it lapses on its own within STREAM_LEASE_SECONDS
            logger.warning("Stream lease not released: Redis unreachable (%s)", error)


def stream_lease_acquire(*, owner: str) -> StreamLease:
    """A lease on one more open stream for ``owner`` (``key:<api key id>``, ``user:<id>``, ``app:<id>``).

    Raises StreamLimitReached (429) when ``owner`` already holds ``STREAM_MAX_CONNECTIONS_PER_KEY`` live leases.
    """
    limit = settings.STREAM_MAX_CONNECTIONS_PER_KEY
    seconds = settings.STREAM_LEASE_SECONDS
    member = uuid.uuid4().hex
    now = time.time()
    if not settings.REDIS_URL:
        with _memory_lock:
            held = _memory.setdefault(owner, {})
            for lapsed in [name for name, expiry in held.items() if expiry <= now]:
                del held[lapsed]
            taken = len(held) < limit
            if taken:
                held[member] = now + seconds
    else:
        try:
            _redis()
            arguments = [now, now + seconds, member, limit, int(seconds) + 1]
            taken = bool(_acquire_script(keys=[_set_key(owner)], args=arguments))
        except redis.RedisError as error:
            logger.warning("Stream not counted: Redis unreachable (%s)", error)
            return StreamLease(owner, member, counted=False)
    if not taken:
        error = StreamLimitReached(
            f"This key already holds {limit} open streams, the most allowed at once (STREAM_MAX_CONNECTIONS_PER_KEY)."
        )
        # A slot frees up when a stream ends; a crashed one's lease within a heartbeat or so.
        error.retry_after = max(1, min(int(seconds), 5))
        raise error
    return StreamLease(owner, member, counted=True)


def stream_leases_held(*, owner: str) -> int:
    """How many live leases ``owner`` holds (tests and the admin's view of a key)."""
    now = time.time()
    if not settings.REDIS_URL:
        with _memory_lock:
            return sum(1 for expiry in _memory.get(owner, {}).values() if expiry > now)
    return int(_redis().zcount(_set_key(owner), f"({now}", "+inf"))
