"""Kombu's Redis transport, publishing through one kept client per channel instead of a new one per message.

Kombu's Redis channel builds a fresh ``redis.Redis`` for every publish (``conn_or_acquire`` without a
client), and building one costs about 1 ms of CPU here (it fills ~170 response callbacks): as much as the
rest of a Celery ``apply_async``, paid by the web process on every message POST. The client wraps the
channel's connection pool and is safe to share, so this channel builds it once per pool. Consuming
(the asynchronous BRPOP client) is unchanged.

It also survives Redis going away with messages unacknowledged (see ``_create_client``).

Selected by ``CELERY_BROKER_TRANSPORT`` when the broker is Redis (config/settings/base.py).
"""

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    _kept_client = None

    def _create_client(self, asynchronous=False):
        if self.connection.client is None:
            # The transport is closed: Redis went away and the worker is tearing its broker connection down. Closing
            # the channel then restores the unacknowledged messages through a new client, and building one from a
            # closed transport raised AttributeError, which the worker did not survive (it exited instead of
            # reconnecting). A connection error is what this is: kombu ignores it there, the worker reconnects, and
            # the messages come back after the visibility timeout or their runs are re-sent by the recovery sweep.
            raise RedisConnectionError("The broker transport is closed.")
        if asynchronous:
            return super()._create_client(asynchronous=True)
        client = self._kept_client
        if client is None or client.connection_pool is not self.pool:  # a reconnect replaces the pool
            client = self._kept_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel
