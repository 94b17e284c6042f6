"""Request rate limits counted where every web process sees them, with the ``limits`` library.

A moving window: at most N hits in any 60 seconds, not N per clock minute (a fixed window lets 2N through
across a minute boundary). With ``REDIS_URL`` the window is a Redis list changed by one Lua script per hit,
atomic on the server, so any number of web processes together never pass more than N; on the embedded
default (one process) it lives in this process's memory, like the rest of the local cache.

A hit is one Redis round trip: the library's two scripts, the one that takes a slot and the one that reads
what is left of the window (the ``X-RateLimit-Remaining`` and ``-Reset`` headers need it), sent together in
one pipeline. Through the library's public calls they would be two round trips (three with redis-py's
script registration in a pipeline). ``bench/rate_limits.py``
measures it.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from limits import RateLimitItemPerMinute, storage, strategies
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
# A limiter that cannot reach Redis within this lets the request through (see ``rate_limit_hit``).
REDIS_TIMEOUT_SECONDS = 1.0

_limiter: strategies.MovingWindowRateLimiter | None = None
_limiter_lock = threading.Lock()


def _storage() -> storage.Storage:
    if settings.REDIS_URL:
        # Its own small pool, not the cache's: the scripts are loaded once per connection pool.
        return storage.RedisStorage(
            settings.REDIS_URL,
            key_prefix=settings.RATE_LIMIT_KEY_PREFIX,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
        )
    return storage.MemoryStorage()


def limiter() -> strategies.MovingWindowRateLimiter:
    """The process's limiter, built on first use (settings are final by then)."""
    global _limiter
    if _limiter is None:
        with _limiter_lock:
            if _limiter is None:
                _limiter = strategies.MovingWindowRateLimiter(_storage())
    return _limiter


def limiter_reset() -> None:
    """Forget the process's limiter (tests that switch ``REDIS_URL``; the next hit builds a new one)."""
    global _limiter
    with _limiter_lock:
        _limiter = None


class _PerMinute(RateLimitItemPerMinute):
    """N per minute, under a key that does not name N (``limits`` puts the amount in the key by default).

    So an operator who changes a plan's limit changes it for the window already running: the hits of the last
    minute still count, instead of every key starting afresh and passing old + new limit in that minute.
    """

    def key_for(self, *identifiers) -> str:
        return "/".join([self.namespace, *(str(part) for part in identifiers)])


@dataclass(frozen=True)
class RateLimitState:
    """Where one counter stands after a hit: what the ``X-RateLimit-*`` headers and ``Retry-After`` say."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # epoch seconds when the oldest hit in the window leaves it (a slot frees up)

    @property
    def retry_after(self) -> int:
        """Whole seconds to wait before a retry can pass (at least 1)."""
        return max(1, math.ceil(self.reset_at - time.time()))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }


def _redis_hit(store: storage.RedisStorage, item: _PerMinute, key: str) -> RateLimitState:
    """``MovingWindowRateLimiter.hit`` then ``get_window_stats`` in one round trip: the library's two scripts
    with the arguments it sends them (``RedisStorage.acquire_entry``, ``get_moving_window``), by their SHA in
    one pipeline. (Handing the pipeline redis-py's Script objects would cost a ``SCRIPT EXISTS`` round trip
    on every call.) A server that does not know the scripts yet (first use, a restart) gets them loaded, then
    the call is made again only if the slot was not taken."""
    redis_key = store.prefixed_key(item.key_for(key))
    expiry, now = item.get_expiry(), time.time()
    acquire, window = store.lua_acquire_moving_window, store.lua_moving_window
    pipeline = store.get_connection().pipeline(transaction=False)
    pipeline.evalsha(acquire.sha, 1, redis_key, now, item.amount, expiry, 1)
    pipeline.evalsha(window.sha, 1, redis_key, now - expiry, item.amount)
    acquired, in_window = pipeline.execute(raise_on_error=False)
    if isinstance(acquired, NoScriptError):
        acquired = acquire([redis_key], [now, item.amount, expiry, 1])  # the Script call loads it
    if isinstance(in_window, NoScriptError):
        in_window = window([redis_key], [now - expiry, item.amount])
    for answer in (acquired, in_window):
        if isinstance(answer, Exception):
            raise answer
    oldest, count = (float(in_window[0]), int(in_window[1])) if in_window else (now, 0)
    return RateLimitState(bool(acquired), item.amount, max(0, item.amount - count), oldest + expiry)


def rate_limit_hit(*, key: str, per_minute: int) -> RateLimitState | None:
    """Count one request on the counter ``key`` if it has room for it among ``per_minute`` in the last minute.

    A refused request is not counted, so a client that keeps retrying does not push its own window forward.
    None when Redis cannot be reached: the request goes on uncounted (logged), so a Redis restart costs the
    limit for its duration, not every request of every app on a plan (the rest of the request then answers
    as it would without the limiter: accepted, or 503 where it needs Redis itself).
    """
    item = _PerMinute(per_minute)
    strategy = limiter()
    if isinstance(strategy.storage, storage.RedisStorage):
        try:
            return _redis_hit(strategy.storage, item, key)
        except (RedisConnectionError, RedisTimeoutError) as error:
            logger.warning("Rate limit not counted: Redis unreachable (%s)", error)
            return None
    allowed = strategy.hit(item, key)
    stats = strategy.get_window_stats(item, key)
    return RateLimitState(allowed, per_minute, max(0, stats.remaining), stats.reset_time)
