"""Fixtures shared by every test: the actors (two apps with keys), API clients, and the run executor.

Unit and API tests run turns inline (``RUN_EXECUTOR=inline``) inside the test transaction and record
announced session events instead of publishing them (persona events keep their production sinks); tests
marked ``live`` start real processes instead.
"""

import pytest
from rest_framework.test import APIClient

from apps.accounts import services as accounts_services
from apps.core.events import SESSION_EVENTS

pytest_plugins = ["tests.fakes.fixtures"]


# The emotion surface's tests assert what persona events deliver (WebSocket pushes, persona webhooks).
PERSONA_SINKS = ["apps.delivery.persona_sinks.PersonaSocketSink", "apps.delivery.persona_sinks.PersonaWebhookSink"]


class RecordingSink:
    """A session-event sink that keeps what it was given, so tests can assert what was (not) announced."""

    topics = (SESSION_EVENTS,)
    published: list[dict] = []
    flashed: list[dict] = []

    def publish(self, events: list[dict]) -> None:
        RecordingSink.published.extend(events)

    def flash(self, frames: list[dict]) -> None:
        RecordingSink.flashed.extend(frames)


@pytest.fixture(autouse=True)
def _inline_pipeline(settings, request):
    if request.node.get_closest_marker("live"):
        return
    settings.RUN_EXECUTOR = "inline"
    settings.EVENT_SINKS = ["conftest.RecordingSink", *PERSONA_SINKS]
    RecordingSink.published.clear()
    RecordingSink.flashed.clear()


@pytest.fixture(autouse=True)
def _no_api_key_cache(settings):
    """Tests change keys behind the service's back (expiry via the ORM); test_key_cache.py turns it on."""
    settings.API_KEY_CACHE_SECONDS = 0


def cache_clear() -> None:
    """Empty the cache this test process uses; under pytest-xdist on Redis, only this worker's keys."""
    from django.conf import settings
    from django.core.cache import cache

    prefix = settings.CACHES["default"].get("KEY_PREFIX")
    if prefix and settings.REDIS_URL:
        client = cache._cache.get_client(write=True)  # Django's RedisCache.clear() is FLUSHDB: every worker's keys
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _clear_cache():
    cache_clear()
    yield


@pytest.fixture
def announced() -> list[dict]:
    """Events announced to sinks after commit during the test."""
    return RecordingSink.published


@pytest.fixture
def flashed() -> list[dict]:
    """Ephemeral frames (``message.delta``) flashed to sinks during the test."""
    return RecordingSink.flashed


@pytest.fixture
def owner(db):
    """The acting tenant: an app with a key."""
    app = accounts_services.app_create(name="owner app")
    issued = accounts_services.api_key_create(app=app, name="test")
    return issued


@pytest.fixture
def other(db):
    """Another tenant, whose resources must look absent to ``owner``."""
    app = accounts_services.app_create(name="other app")
    return accounts_services.api_key_create(app=app, name="test")


@pytest.fixture
def api(owner) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {owner.raw_key}")
    return client


@pytest.fixture
def other_api(other) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {other.raw_key}")
    return client


@pytest.fixture
def anon() -> APIClient:
    return APIClient()
