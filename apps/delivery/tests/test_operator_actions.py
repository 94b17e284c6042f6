"""What operators do from the admin, as services: re-send failed deliveries (webhook, Telegram) and disable or
enable a webhook endpoint. Re-sends go over real HTTP to the fake receivers, through the same sender."""

import pytest
from django.db import transaction

from apps.characters.tests.factories import character_publish
from apps.conversations import services as conversation_services
from apps.conversations.models import Event
from apps.delivery import services
from apps.delivery.models import TelegramChat, TelegramDelivery, WebhookDelivery, WebhookEndpoint
from apps.delivery.routes import PUSH_ROUTES
from apps.delivery.telegram import services as telegram_services
from apps.delivery.telegram.services import channels, outbound

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_shot_webhooks(webhooks_on):
    """No retry schedule: a failed POST fails its row at once (what a spent schedule leaves behind)."""
    webhooks_on.WEBHOOK_RETRY_SCHEDULE_SECONDS = []
    return webhooks_on


def _append(session_id: str, capture) -> dict:
    with capture(execute=True), transaction.atomic():
        (row,) = conversation_services.events_append(
            session_id=session_id, events=[conversation_services.NewEvent("message.created", {"text": "hi"})]
        )
    return row.as_public_dict()


def _failed_delivery(owner, session, receiver, capture) -> tuple[WebhookEndpoint, WebhookDelivery, dict]:
    endpoint = services.webhook_endpoint_create(
        app=owner.api_key.app, url=receiver.url, secret=receiver.secret, session_id=session.id
    )
    receiver.respond(500)
    event = _append(session.id, capture)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, 500)
    return endpoint, delivery, event


# --- webhook deliveries -------------------------------------------------------------------------------
def test_a_failed_webhook_delivery_is_sent_again_signed_with_the_same_id(
    one_shot_webhooks, owner, session, webhook_receiver, django_capture_on_commit_callbacks
):
    _, delivery, event = _failed_delivery(owner, session, webhook_receiver, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.webhook_deliveries_resend(delivery_ids=[delivery.pk]) == [delivery.pk]

    assert len(webhook_receiver.received) == 2
    again = webhook_receiver.received[1]
    assert again.standard_signature_ok and again.legacy_signature_ok
    assert again.headers["webhook-id"] == event["event_id"] and again.json == {"event": event}
    assert again.headers["x-dramatis-delivery-attempt"] == "2"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)


def test_a_resend_that_fails_again_leaves_the_row_failed(
    one_shot_webhooks, owner, session, webhook_receiver, django_capture_on_commit_callbacks
):
    _, delivery, _ = _failed_delivery(owner, session, webhook_receiver, django_capture_on_commit_callbacks)
    webhook_receiver.respond(503)
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_deliveries_resend(delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 2, 503)


def test_delivered_rows_and_rows_of_a_stopped_endpoint_are_not_sent_again(
    one_shot_webhooks, owner, session, webhook_receiver, django_capture_on_commit_callbacks
):
    endpoint, failed, _ = _failed_delivery(owner, session, webhook_receiver, django_capture_on_commit_callbacks)
    _append(session.id, django_capture_on_commit_callbacks)
    delivered = WebhookDelivery.objects.get(endpoint=endpoint, status="delivered")
    services.webhook_endpoint_disable(endpoint_id=endpoint.pk)
    rows_before = list(WebhookDelivery.objects.order_by("id").values_list("id", "status", "attempts"))
    received_before = len(webhook_receiver.received)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert services.webhook_deliveries_resend(delivery_ids=[failed.pk, delivered.pk]) == []

    assert callbacks == []
    assert list(WebhookDelivery.objects.order_by("id").values_list("id", "status", "attempts")) == rows_before
    assert len(webhook_receiver.received) == received_before


def test_rows_cancelled_by_a_disable_go_out_once_the_endpoint_is_enabled_and_they_are_resent(
    webhooks_on, owner, session, webhook_receiver, django_capture_on_commit_callbacks
):
    endpoint = services.webhook_endpoint_create(
        app=owner.api_key.app, url=webhook_receiver.url, secret=webhook_receiver.secret, session_id=session.id
    )
    with transaction.atomic():  # appended, but not yet sent (the hand-off runs after commit)
        conversation_services.events_append(
            session_id=session.id, events=[conversation_services.NewEvent("message.created", {"text": "hi"})]
        )
    assert services.webhook_endpoint_disable(endpoint_id=endpoint.pk) is True
    cancelled = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (cancelled.status, cancelled.last_error) == ("cancelled", "endpoint_disabled: operator")

    assert services.webhook_endpoint_enable(endpoint_id=endpoint.pk) is True
    with django_capture_on_commit_callbacks(execute=True):
        assert services.webhook_deliveries_resend(delivery_ids=[cancelled.pk]) == [cancelled.pk]

    assert webhook_receiver.event_ids() == [cancelled.event_id]
    assert WebhookDelivery.objects.get(pk=cancelled.pk).status == "delivered"


# --- webhook endpoints --------------------------------------------------------------------------------
def test_disabling_an_endpoint_tells_the_session_and_a_second_disable_does_nothing(webhooks_on, owner, session):
    endpoint = services.webhook_endpoint_create(
        app=owner.api_key.app, url="http://127.0.0.1:9/x", session_id=session.id
    )
    PUSH_ROUTES.get(lambda: "cached routes")

    assert services.webhook_endpoint_disable(endpoint_id=endpoint.pk) is True

    endpoint.refresh_from_db()
    assert (endpoint.status, endpoint.disabled_reason) == ("disabled", "operator")
    assert PUSH_ROUTES.get(lambda: "read again") == "read again"  # every process's cached routes miss
    notice = Event.objects.get(session=session, event_type="webhook.endpoint_disabled")
    assert (notice.payload["channel_id"], notice.payload["reason"]) == (endpoint.pk, "operator")
    events_before = Event.objects.count()

    assert services.webhook_endpoint_disable(endpoint_id=endpoint.pk) is False
    assert Event.objects.count() == events_before


def test_enabling_clears_the_failure_record_and_only_applies_to_disabled_endpoints(webhooks_on, owner):
    app = owner.api_key.app
    disabled = services.webhook_endpoint_create(app=app, url="http://127.0.0.1:9/a")
    WebhookEndpoint.objects.filter(pk=disabled.pk).update(
        status="disabled", disabled_reason="failing", consecutive_failures=9, failing_since="2026-01-01T00:00Z"
    )
    active = services.webhook_endpoint_create(app=app, url="http://127.0.0.1:9/b")
    deleted = services.webhook_endpoint_create(app=app, url="http://127.0.0.1:9/c")
    services.webhook_endpoint_delete(app=app, endpoint_id=deleted.pk)

    assert services.webhook_endpoint_enable(endpoint_id=disabled.pk) is True
    disabled.refresh_from_db()
    assert (disabled.status, disabled.disabled_reason, disabled.consecutive_failures, disabled.failing_since) == (
        "active",
        "",
        0,
        None,
    )
    before = list(WebhookEndpoint.objects.order_by("pk").values_list("pk", "status", "updated_at"))
    assert services.webhook_endpoint_enable(endpoint_id=active.pk) is False
    assert services.webhook_endpoint_enable(endpoint_id=deleted.pk) is False
    assert list(WebhookEndpoint.objects.order_by("pk").values_list("pk", "status", "updated_at")) == before


# --- Telegram deliveries ------------------------------------------------------------------------------
@pytest.fixture
def chat(owner, fake_telegram, settings) -> TelegramChat:
    """A chat bound to a session of a connected bot (the fake Bot API), its greeting already out of scope."""
    settings.EVENT_SINKS = ["conftest.RecordingSink", "apps.delivery.sinks.TelegramSink"]
    app = owner.api_key.app
    character_publish(app, slug="luna", greeting="hey")
    token = fake_telegram.bot_create(username="luna_bot")
    channel, _ = channels.telegram_channel_connect(
        app=app, bot_token=token, routing_mode="single_character", default_character_slug="luna"
    )
    session = conversation_services.session_create(app=app, character_slug="luna", external_user_ref="telegram:31")
    chat = TelegramChat.objects.create(channel=channel, telegram_user_id=31, chat_id=31, session=session)
    TelegramChat.objects.filter(pk=chat.pk).update(scanned_cursor=session.last_cursor)
    PUSH_ROUTES.bump()
    fake_telegram.calls_clear()
    chat.refresh_from_db()
    return chat


def _reply(chat: TelegramChat, bubbles: list[str]) -> None:
    with transaction.atomic():
        conversation_services.events_append(
            session_id=chat.session_id,
            events=[conversation_services.NewEvent("message.created", {"bubbles": bubbles}, "character")],
        )


def test_a_failed_telegram_message_is_resent_from_the_bubble_telegram_refused(
    chat, fake_telegram, django_capture_on_commit_callbacks
):
    _reply(chat, ["one.", "two.", "three."])
    fake_telegram.fail("sendMessage", error_code=403, after=1)  # "one." goes through, then the user blocks the bot
    outbound.telegram_chat_drain(chat_id=chat.pk)
    delivery = TelegramDelivery.objects.get()
    assert (delivery.status, delivery.parts_sent) == ("failed", 1)

    with django_capture_on_commit_callbacks(execute=True):
        assert telegram_services.telegram_deliveries_resend(delivery_ids=[delivery.pk]) == [delivery.pk]

    assert fake_telegram.sent_texts() == ["one.", "two.", "three."]  # each bubble once
    delivery.refresh_from_db()
    assert (delivery.status, delivery.parts_sent, delivery.attempts, delivery.last_error) == ("delivered", 3, 2, "")


def test_delivered_typing_and_unauthorized_rows_are_not_resent(chat, fake_telegram, django_capture_on_commit_callbacks):
    _reply(chat, ["sent."])
    outbound.telegram_chat_drain(chat_id=chat.pk)
    delivered = TelegramDelivery.objects.get()
    typing = TelegramDelivery.objects.create(
        channel=chat.channel, chat=chat, event_id="evt_t", event_type="run.status", cursor=99, kind="typing",
        status="failed", next_attempt_at=delivered.next_attempt_at,
    )  # fmt: skip
    refused = TelegramDelivery.objects.create(
        channel=chat.channel, chat=chat, event_id="evt_r", event_type="message.created", cursor=100, kind="message",
        texts=["x"], status="failed", next_attempt_at=delivered.next_attempt_at,
    )  # fmt: skip
    chat.channel.__class__.objects.filter(pk=chat.channel_id).update(status="unauthorized")
    before = list(TelegramDelivery.objects.order_by("id").values_list("id", "status", "attempts"))
    sent_before = fake_telegram.sent_texts()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ids = [delivered.pk, typing.pk, refused.pk]
        assert telegram_services.telegram_deliveries_resend(delivery_ids=ids) == []

    assert callbacks == []
    assert list(TelegramDelivery.objects.order_by("id").values_list("id", "status", "attempts")) == before
    assert fake_telegram.sent_texts() == sent_before
