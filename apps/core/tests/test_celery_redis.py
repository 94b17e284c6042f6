"""The Redis broker transport survives the broker going away (apps/core/celery_redis.py)."""

import pytest
from django.conf import settings
from kombu import Connection
from redis.exceptions import ConnectionError as RedisConnectionError

from apps.core.celery_redis import Transport

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="a Redis broker (REDIS_URL)")


def test_a_channel_of_a_closed_transport_answers_a_connection_error_not_an_attribute_error():
    # given a worker's broker channel whose connection is being torn down after Redis went away
    with Connection(settings.REDIS_URL, transport=Transport) as connection:
        channel = connection.channel()
        connection.transport.client = None  # what kombu's Connection._do_close_transport does
        channel._pool = None  # what Channel._disconnect_pools does first

        # when closing it tries to restore unacknowledged messages through a new client, it meets a connection
        # error, which kombu ignores while closing (an AttributeError crashed the worker instead)
        with pytest.raises(RedisConnectionError):
            channel._create_client()
        channel.close()
