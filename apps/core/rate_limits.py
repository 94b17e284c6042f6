"""Request rate limits counted where every web process sees them, with the ``limits`` library.

A moving window: at most N hits in any 60 seconds, not N per clock minute (a fixed window lets 2N through
across a minute boundary). With ``REDIS_URL`` the window is a Redis list changed by one Lua script per hit,
atomic on the server, so any number of web processes together never pass more than N; on the embedded
default (one process) it lives in this process's memory, like the rest of the local cache.

A hit costs two Redis round trips: the acquiring script, then the read of what is left in the window (the
``X-RateLimit-Remaining`` and ``-Reset`` headers need it). ``bench/rate_limits.py`` measures it.
"""

import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from limits import RateLimitItemPerMinute, storage, strategies

WINDOW_SECONDS = 60

_limiter: strategies.MovingWindowRateLimiter | None = None
_limiter_lock = threading.Lock()


def _storage() -> storage.Storage:
    if settings.REDIS_URL:
        # Its own small pool, not the cache's: the scripts are loaded once per connection pool.
        return storage.RedisStorage(settings.REDIS_URL, key_prefix=settings.RATE_LIMIT_KEY_PREFIX)
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


def rate_limit_hit(*, key: str, per_minute: int) -> RateLimitState:
    """Count one request on the counter ``key`` if it has room for it among ``per_minute`` in the last minute.

    A refused request is not counted, so a client that keeps retrying does not push its own window forward.
    """
    item = _PerMinute(per_minute)
    strategy = limiter()
    allowed = strategy.hit(item, key)
    stats = strategy.get_window_stats(item, key)
    return RateLimitState(allowed, per_minute, max(0, stats.remaining), stats.reset_time)
