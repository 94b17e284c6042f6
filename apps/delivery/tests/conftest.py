import pytest

from apps.conversations.tests.factories import session_start


@pytest.fixture
def webhooks_on(settings):
    """The webhook sink on (the suite records events instead by default), loopback allowed, quick retries."""
    settings.EVENT_SINKS = ["conftest.RecordingSink", "apps.delivery.sinks.WebhookSink"]
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [0.3, 0.3, 0.3]
    settings.WEBHOOK_RETRY_JITTER = 0.0
    settings.WEBHOOK_TIMEOUT_SECONDS = 1.0
    settings.WEBHOOK_LEASE_SECONDS = 30.0
    return settings


@pytest.fixture
def session(owner):
    return session_start(owner.api_key.app, slug="luna", display_name="Luna", greeting="hi!")
