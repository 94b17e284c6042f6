"""Django's Redis cache backend with one connection pool and one ``redis.Redis`` client per process.

Two costs of Django's own backend show in every request's profile:

- ``RedisCacheClient.get_client`` makes a new ``redis.Redis`` for every cache call, and building one fills
  its table of ~170 response callbacks: about 1 ms of CPU here, more than the round trip itself;
- the cache handler keeps one backend per async context, and under ASGI every request runs in a context
  of its own, so each request built a new ``RedisCacheClient`` with a new connection pool, and so opened
  a new TCP connection to Redis.

The client wraps its pool and both are thread-safe, so this backend keeps one ``RedisCacheClient`` per
process (per server list and options), which builds its ``redis.Redis`` once: every request and thread
reuses warm connections.

It also skips ``validate_key``: Django's base check walks every character of every key for memcached's
limits (length, control characters), which Redis does not have, and it cost ~3% of a worker's turn.

Use ``apps.core.redis_cache.RedisCache`` wherever ``django.core.cache.backends.redis.RedisCache`` would go.

``CACHE_UNREACHABLE`` are the errors a cache call raises while Redis is down or restarting: callers whose cache
is only a shortcut treat them as a miss (docs/operators.md, "Failure behaviour").
"""

import threading

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

CACHE_UNREACHABLE = (RedisConnectionError, RedisTimeoutError)

_clients: dict[str, "KeptClientRedisCacheClient"] = {}
_clients_lock = threading.Lock()


class KeptClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._kept: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._kept.get(index)
        if client is None:
            with _clients_lock:
                client = self._kept.get(index)
                if client is None:
                    client = self._kept[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class RedisCache(DjangoRedisCache):
    @property
    def _cache(self) -> KeptClientRedisCacheClient:
        client = self.__dict__.get("_kept_client")
        if client is None:
            key = repr((self._servers, sorted(self._options.items())))
            with _clients_lock:
                client = _clients.get(key)
                if client is None:
                    client = _clients[key] = KeptClientRedisCacheClient(self._servers, **self._options)
            self.__dict__["_kept_client"] = client
        return client

    def validate_key(self, key: str) -> None:
        """Nothing to check: Redis keys are binary-safe strings of any length."""
