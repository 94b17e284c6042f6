"""Races closed by the database: concurrent senders of one chat, and Telegram posting one update twice at once."""

import threading

import pytest
from django.db import close_old_connections, transaction
from django.test import Client

from apps.characters.tests.factories import character_publish
from apps.conversations import services
from apps.conversations.models import Run, Session
from apps.conversations.services import NewEvent, events_append
from apps.delivery.models import TelegramChat, TelegramDelivery, TelegramUpdate
from apps.delivery.routes import PUSH_ROUTES
from apps.delivery.telegram.services import channels, outbound

pytestmark = pytest.mark.django_db(transaction=True)


def _in_threads(target, count: int) -> list:
    results: list = []
    barrier = threading.Barrier(count)

    def run() -> None:
        try:
            barrier.wait()
            results.append(target())
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.fixture
def channel(owner, fake_telegram):
    character_publish(owner.api_key.app, slug="luna", greeting="")
    token = fake_telegram.bot_create()
    connected, _ = channels.telegram_channel_connect(
        app=owner.api_key.app, bot_token=token, routing_mode="single_character", default_character_slug="luna"
    )
    return connected


def test_concurrent_senders_send_each_bubble_once_and_in_order(channel, owner, fake_telegram):
    session = services.session_create(app=owner.api_key.app, character_slug="luna", external_user_ref="telegram:5")
    chat = TelegramChat.objects.create(channel=channel, telegram_user_id=5, chat_id=5, session=session)
    PUSH_ROUTES.bump()  # written behind the inbound service's back
    bubbles = [f"bubble {index}." for index in range(6)]
    with transaction.atomic():
        for pair in (bubbles[:3], bubbles[3:]):
            events_append(
                session_id=session.id,
                events=[NewEvent("message.created", {"text": " ".join(pair), "bubbles": pair}, "character")],
            )
    fake_telegram.slow("sendMessage", 0.05)  # senders overlap for the whole drain

    _in_threads(lambda: outbound.telegram_chat_drain(chat_id=chat.pk), 4)

    assert fake_telegram.sent_texts(chat_id=5) == bubbles
    assert len(fake_telegram.calls_of("sendMessage")) == len(bubbles)
    assert list(TelegramDelivery.objects.values_list("status", flat=True)) == ["delivered", "delivered"]


def test_one_update_posted_twice_at_once_is_one_message(channel, fake_telegram, settings):
    settings.RUN_EXECUTOR = "inline"
    url, secret = fake_telegram.webhook_of(channel.bot_token)
    update = fake_telegram.update(user_id=8, text="hello?")

    def post() -> str:
        response = Client().post(
            url.removeprefix("http://testserver"),
            update,
            content_type="application/json",
            HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=secret,
        )
        return response.json()["outcome"]

    outcomes = _in_threads(post, 3)

    assert sorted(outcomes) == ["accepted", "duplicate", "duplicate"]
    assert TelegramUpdate.objects.count() == 1
    assert Session.objects.filter(external_user_ref="telegram:8").count() == 1
    assert Run.objects.count() == 1
