"""Selfies out through every channel: Telegram gets the picture's bytes (multipart sendPhoto, after the reply's
bubbles), webhooks get the image.ready event with signed links minted when each attempt is sent."""

import json

import pytest
from django.core import signing
from django.core.files.storage import default_storage
from django.db import transaction
from django.test import Client

from apps.assets import selectors as assets_selectors
from apps.assets.models import GeneratedImage
from apps.assets.tests.factories import identity_asset_create, selfie_character_fields
from apps.characters.tests.factories import character_publish
from apps.conversations import services as conversation_services
from apps.conversations.models import Event, Session
from apps.delivery import services
from apps.delivery.models import TelegramDelivery, WebhookDelivery
from apps.delivery.telegram.services import channels
from apps.delivery.webhooks.services import deliveries

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _lexicon(settings):
    settings.EMOTION_APPRAISER = "lexicon"


def test_a_selfie_reaches_telegram_as_a_photo_upload_of_the_stored_bytes(
    owner, fake_telegram, settings, django_capture_on_commit_callbacks
):
    settings.EVENT_SINKS = ["conftest.RecordingSink", "apps.delivery.sinks.TelegramSink"]
    app = owner.api_key.app
    character = character_publish(app, slug="luna", greeting="hey!", **selfie_character_fields()).character
    identity_asset_create(character)
    token = fake_telegram.bot_create(username="luna_bot")
    channels.telegram_channel_connect(
        app=app, bot_token=token, routing_mode="single_character", default_character_slug="luna"
    )
    url, secret = fake_telegram.webhook_of(token)
    fake_telegram.calls_clear()

    update = fake_telegram.update(user_id=4242, text="send me a selfie?")
    with django_capture_on_commit_callbacks(execute=True):  # the turn, the image job, the sends: all inline
        response = Client().post(
            url.removeprefix("http://testserver"),
            update,
            content_type="application/json",
            HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=secret,
        )
    assert response.status_code == 200

    image = GeneratedImage.objects.get(status="ready")
    (photo,) = fake_telegram.sent_photos(chat_id=4242)
    with default_storage.open(image.file.name, "rb") as handle:
        assert photo["photo_bytes"] == handle.read()
    assert (photo["caption"], photo["photo_content_type"]) == ("Here you go!", "image/png")
    methods = [call.method for call in fake_telegram.calls if call.method.startswith("send")]
    assert methods[-1] == "sendPhoto" and "sendMessage" in methods  # the picture after the reply's bubbles
    row = TelegramDelivery.objects.get(kind="photo")
    assert (row.status, row.image_id, row.parts_sent) == ("delivered", image.id, 1)
    session = Session.objects.get()
    assert Event.objects.filter(session=session, event_type="image.ready").count() == 1


def test_a_webhook_retry_sends_links_minted_for_that_attempt(owner, webhooks_on, webhook_receiver, monkeypatch):
    app = owner.api_key.app
    character = character_publish(app, slug="luna", **selfie_character_fields()).character
    session = conversation_services.session_create(app=app, character_slug="luna", external_user_ref="u1")
    identity_asset_create(character)
    services.webhook_endpoint_create(
        app=app, url=webhook_receiver.url, secret=webhook_receiver.secret, session_id=session.id
    )
    image = GeneratedImage.objects.create(
        app=app, character=character, session_id=session.id, kind="selfie", model="builtin", backend="builtin",
        prompt="p", status="ready", file="images/x.png", thumbnail="images/thumbs/x.png",
    )  # fmt: skip
    monkeypatch.setattr(deliveries.executor, "submit", lambda *args, **kwargs: None)  # sent below, by hand
    with transaction.atomic():
        (event,) = conversation_services.events_append(
            session_id=session.id,
            events=[conversation_services.NewEvent("image.ready", {"image_id": image.id}, "character")],
        )
    row = WebhookDelivery.objects.get()
    recorded = row.body["event"]["payload"]["url"]

    # hours later the recorded link has expired; the attempt carries a fresh one
    real_time = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() + 3 * 3600)
    attempt = deliveries._attempt(deliveries._Claim(row, 2), 0)
    sent = json.loads(attempt.body)["event"]["payload"]
    assert sent["url"] != recorded and sent["image_id"] == image.id
    token = sent["url"].rsplit("/", 1)[1]
    assert assets_selectors.image_token_read(token=token) == (image.id, "file")
    assert assets_selectors.image_token_read(token=recorded.rsplit("/", 1)[1]) is None  # expired
    assert "url" not in Event.objects.get(pk=event.pk).payload  # the log keeps the id only
