"""The direct Redis publish must reach Channels' pub/sub subscribers exactly like ``group_send``."""

import asyncio

import pytest
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

from apps.delivery import realtime

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs the Redis channel layer (set REDIS_URL)")


def test_the_group_channel_name_matches_the_installed_layer():
    async def layer_name():
        layer = get_channel_layer()
        assert isinstance(layer, RedisPubSubChannelLayer)
        return layer._get_layer()._get_group_channel_name("session.sess_x")

    assert asyncio.run(layer_name()) == realtime.pubsub_group_channel("session.sess_x")


def test_a_direct_publish_reaches_a_group_subscriber():
    async def roundtrip():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("session.sess_direct", channel)
        try:
            receiving = asyncio.ensure_future(layer.receive(channel))
            await asyncio.sleep(0.05)  # let the subscription reach Redis
            await asyncio.to_thread(
                realtime.group_send_soon, "session.sess_direct", {"type": "session.events", "events": [{"cursor": 7}]}
            )
            return await asyncio.wait_for(receiving, 5)
        finally:
            await layer.group_discard("session.sess_direct", channel)

    assert asyncio.run(roundtrip()) == {"type": "session.events", "events": [{"cursor": 7}]}
