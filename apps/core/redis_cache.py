"""Django's Redis cache backend, keeping its ``redis.Redis`` client instead of building one per operation.

Django's ``RedisCacheClient.get_client`` makes a new ``redis.Redis`` for every cache call. Building one
fills its table of ~170 response callbacks, about 1 ms of CPU on these machines: more than the round trip
itself, and paid on every cached read of every request (a message POST makes several). The client only
wraps a connection pool and is safe to share, so this backend builds it once per pool.

Use ``apps.core.redis_cache.RedisCache`` wherever ``django.core.cache.backends.redis.RedisCache`` would go.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
