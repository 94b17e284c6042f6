"""The delivery admin's actions, each through its service: disable/enable endpoints, re-send deliveries."""

import pytest
from django.db import transaction
from django.urls import reverse

from apps.conversations import services as conversation_services
from apps.delivery import services
from apps.delivery.models import TelegramDelivery, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def _act(admin_client, model: str, action: str, ids, capture=None):
    url = reverse(f"admin:delivery_{model}_changelist")
    data = {"action": action, "_selected_action": list(ids)}
    if capture is None:
        response = admin_client.post(url, data, follow=True)
    else:
        with capture(execute=True):
            response = admin_client.post(url, data, follow=True)
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_disable_then_enable_an_endpoint_and_the_nothing_done_paths(webhooks_on, admin_client, owner, session):
    endpoint = services.webhook_endpoint_create(
        app=owner.api_key.app, url="http://127.0.0.1:9/x", session_id=session.id
    )

    assert _act(admin_client, "webhookendpoint", "disable_endpoints", [endpoint.pk]) == [
        f"Disabled 1 endpoint(s): {endpoint.pk}."
    ]
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).status == "disabled"
    assert _act(admin_client, "webhookendpoint", "disable_endpoints", [endpoint.pk]) == [
        "1 endpoint(s) were not active: left as they were."
    ]

    assert _act(admin_client, "webhookendpoint", "enable_endpoints", [endpoint.pk]) == [
        f"Enabled 1 endpoint(s): {endpoint.pk}."
    ]
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).status == "active"
    assert _act(admin_client, "webhookendpoint", "enable_endpoints", [endpoint.pk]) == [
        "1 endpoint(s) were not disabled: left as they were."
    ]


def test_resend_a_failed_webhook_delivery_over_http(
    webhooks_on, admin_client, owner, session, webhook_receiver, django_capture_on_commit_callbacks
):
    webhooks_on.WEBHOOK_RETRY_SCHEDULE_SECONDS = []
    endpoint = services.webhook_endpoint_create(
        app=owner.api_key.app, url=webhook_receiver.url, secret=webhook_receiver.secret, session_id=session.id
    )
    webhook_receiver.respond(500)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        conversation_services.events_append(
            session_id=session.id, events=[conversation_services.NewEvent("message.created", {"text": "hi"})]
        )
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "failed"

    messages = _act(admin_client, "webhookdelivery", "resend", [delivery.pk], django_capture_on_commit_callbacks)

    assert messages == ["Re-sending 1 delivery(ies)."]
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "delivered"
    assert len(webhook_receiver.received) == 2 and webhook_receiver.received[1].standard_signature_ok

    received = len(webhook_receiver.received)
    messages = _act(admin_client, "webhookdelivery", "resend", [delivery.pk], django_capture_on_commit_callbacks)
    assert messages == [
        "1 delivery(ies) not re-sent: only failed or cancelled ones of an active endpoint can be (enable a "
        "disabled endpoint first)."
    ]
    assert len(webhook_receiver.received) == received


def test_resend_on_the_telegram_delivery_list_leaves_ineligible_rows_alone(admin_client, owner, session):
    # The happy path goes over HTTP to the fake Bot API in test_operator_actions; here, the refusal and its message.
    from apps.characters.models import Character
    from apps.delivery.models import TelegramChannel, TelegramChat

    channel = TelegramChannel.objects.create(
        app=owner.api_key.app, bot_token="1:t", token_hint="1:…", bot_id=1, bot_username="luna_bot",
        default_character=Character.objects.get(pk=session.character_id),
    )  # fmt: skip
    chat = TelegramChat.objects.create(channel=channel, telegram_user_id=5, chat_id=5, session=session)
    delivered = TelegramDelivery.objects.create(
        channel=channel, chat=chat, event_id="evt_1", event_type="message.created", cursor=1, kind="message",
        texts=["hi"], status="delivered", attempts=1, next_attempt_at=session.created_at,
    )  # fmt: skip

    messages = _act(admin_client, "telegramdelivery", "resend", [delivered.pk])

    assert messages == [
        "1 delivery(ies) not re-sent: only failed messages and photos of a bot Telegram still accepts can be."
    ]
    delivered.refresh_from_db()
    assert (delivered.status, delivered.attempts) == ("delivered", 1)
