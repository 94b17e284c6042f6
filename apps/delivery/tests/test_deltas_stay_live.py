"""A reply's ``message.delta`` frames are for live listeners only: the webhook sink never sees them (the
channel layer's share, the SSE stream, is proven end to end in ``tests/test_live_sse.py``)."""

import pytest

from apps.conversations import services as conversation_services
from apps.delivery import services
from apps.delivery.webhooks.models import WebhookDelivery


@pytest.fixture(autouse=True)
def _lexicon_appraiser(settings):
    settings.EMOTION_APPRAISER = "lexicon"


def test_a_streamed_reply_leaves_webhooks_only_its_durable_events(
    webhooks_on, owner, session, django_capture_on_commit_callbacks, flashed
):
    app = owner.api_key.app
    services.webhook_endpoint_create(app=app, url="http://127.0.0.1:9/hook")
    conversation_services.delta_listen(session_id=session.id)

    with django_capture_on_commit_callbacks(execute=True):
        turn = conversation_services.message_turn(app=app, session_id=session.id, text="tell me about your day")
        deltas = list(turn)

    assert deltas and "".join(frame["text"] for frame in flashed) == "".join(deltas)  # streamed and flashed
    delivered = list(WebhookDelivery.objects.values_list("event_type", flat=True))
    assert "message.created" in delivered and "message.delta" not in delivered
