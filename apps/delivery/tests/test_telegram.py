"""Telegram end to end against a fake Bot API: an update posted to our webhook becomes a turn, and the
character's greeting, typing action and reply bubbles go back out as Bot API calls, in order, once."""

import logging
from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.db import transaction
from django.test import Client
from django.urls import reverse

from apps.characters.tests.factories import character_publish
from apps.conversations import services
from apps.conversations.models import Event, Run, Session
from apps.conversations.services import NewEvent, events_append
from apps.core import clock
from apps.delivery.models import TelegramChat, TelegramDelivery, TelegramUpdate
from apps.delivery.routes import PUSH_ROUTES
from apps.delivery.telegram import tasks
from apps.delivery.telegram.services import channels, outbound

GREETING = "hey, I'm Luna!"


def row_counts() -> dict[str, int]:
    """Rows an inbound update could write (``TelegramUpdate`` included)."""
    models = (Session, Event, Run, TelegramChat, TelegramUpdate, TelegramDelivery)
    return {model.__name__: model.objects.count() for model in models}


@pytest.fixture
def bot(owner, fake_telegram, settings):
    """A connected bot whose replies reach the fake Bot API through the real sink."""
    settings.EVENT_SINKS = ["conftest.RecordingSink", "apps.delivery.sinks.TelegramSink"]
    app = owner.api_key.app
    character_publish(app, slug="luna", greeting=GREETING)
    token = fake_telegram.bot_create(username="luna_bot")
    channel, _ = channels.telegram_channel_connect(
        app=app, bot_token=token, routing_mode="single_character", default_character_slug="luna"
    )
    url, secret = fake_telegram.webhook_of(token)
    fake_telegram.calls_clear()
    return {"channel": channel, "token": token, "path": url.removeprefix("http://testserver"), "secret": secret}


def _post(bot, update, *, secret: str | None = "use-the-bot's"):
    headers = {}
    if secret is not None:
        headers["HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"] = bot["secret"] if secret == "use-the-bot's" else secret
    return Client().post(bot["path"], update, content_type="application/json", **headers)


def _deliver(bot, update, capture, **kwargs):
    """Post ``update`` as Telegram would, running what the commit triggers (the inline run and the sends)."""
    with capture(execute=True):
        response = _post(bot, update, **kwargs)
    return response


def _bot_calls(fake, token):
    return [
        (c.method, c.params.get("text") or c.params.get("action"))
        for c in fake.calls
        if c.token == token and c.method.startswith("send")
    ]


def test_a_message_becomes_a_turn_and_the_reply_goes_out_as_bubbles_in_order(
    bot, fake_telegram, django_capture_on_commit_callbacks
):
    update = fake_telegram.update(user_id=4242, text="what are you up to tonight?")
    response = _deliver(bot, update, django_capture_on_commit_callbacks)

    assert response.status_code == 200 and response.json() == {"ok": True, "outcome": "accepted"}
    session = Session.objects.get(external_user_ref="telegram:4242")
    assert (session.app_id, session.character.slug) == (bot["channel"].app_id, "luna")
    events = list(Event.objects.filter(session=session).order_by("cursor"))
    assert [(e.event_type, e.role) for e in events] == [
        ("character.initiated", "character"),
        ("message.created", "user"),
        ("run.status", ""),
        ("message.created", "character"),
        ("emotion.updated", "character"),
    ]
    assert events[1].payload["text"] == "what are you up to tonight?"
    reply_bubbles = events[3].payload["bubbles"]
    assert len(reply_bubbles) >= 1
    sent = _bot_calls(fake_telegram, bot["token"])
    assert sent == [("sendMessage", GREETING), ("sendChatAction", "typing")] + [
        ("sendMessage", b) for b in reply_bubbles
    ]
    assert all(int(c.params["chat_id"]) == 4242 for c in fake_telegram.calls if c.method.startswith("send"))
    rows = list(TelegramDelivery.objects.order_by("cursor").values_list("event_id", "kind", "status", "parts_sent"))
    assert rows == [
        (events[0].as_public_dict()["event_id"], "message", "delivered", 1),
        (events[2].as_public_dict()["event_id"], "typing", "delivered", 0),
        (events[3].as_public_dict()["event_id"], "message", "delivered", len(reply_bubbles)),
    ]
    assert TelegramChat.objects.get().scanned_cursor == 5  # emotion.updated is scanned past, not sent


def test_the_same_user_keeps_one_session_and_other_users_get_their_own(
    bot, fake_telegram, django_capture_on_commit_callbacks
):
    for user_id, text in [(1, "hi"), (2, "hello"), (1, "again")]:
        _deliver(bot, fake_telegram.update(user_id=user_id, text=text), django_capture_on_commit_callbacks)
    assert sorted(Session.objects.values_list("external_user_ref", flat=True)) == ["telegram:1", "telegram:2"]
    assert Session.objects.get(external_user_ref="telegram:1").user_turn_count == 2
    assert fake_telegram.sent_texts(chat_id=1).count(GREETING) == 1  # the greeting opens the session once
    assert Run.objects.count() == 3


def test_a_redelivered_update_is_acknowledged_and_changes_nothing(
    bot, fake_telegram, django_capture_on_commit_callbacks
):
    update = fake_telegram.update(user_id=7, text="hello there")
    _deliver(bot, update, django_capture_on_commit_callbacks)
    counts, sends = row_counts(), len(fake_telegram.calls)

    again = _deliver(bot, update, django_capture_on_commit_callbacks)

    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert row_counts() == counts and len(fake_telegram.calls) == sends
    assert TelegramUpdate.objects.get().outcome == "accepted"


def test_start_opens_the_session_with_the_greeting_and_sends_no_message(
    bot, fake_telegram, django_capture_on_commit_callbacks
):
    response = _deliver(bot, fake_telegram.update(user_id=9, text="/start"), django_capture_on_commit_callbacks)
    assert response.json()["outcome"] == "accepted"
    session = Session.objects.get(external_user_ref="telegram:9")
    assert session.user_turn_count == 0 and not Run.objects.exists()
    assert _bot_calls(fake_telegram, bot["token"]) == [("sendMessage", GREETING)]


@pytest.mark.parametrize(
    "message",
    [
        {"text": None, "photo": [{"file_id": "x", "width": 1, "height": 1}]},
        {"text": None, "sticker": {"file_id": "x"}},
        {"text": "hi all", "chat_type": "group"},
        {"text": "beep", "from": {"id": 11, "is_bot": True, "first_name": "Bot"}},
    ],
)
def test_non_text_and_group_updates_are_acknowledged_and_ignored(
    bot, fake_telegram, django_capture_on_commit_callbacks, message
):
    counts = row_counts()
    response = _deliver(bot, fake_telegram.update(user_id=11, **message), django_capture_on_commit_callbacks)
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    counts["TelegramUpdate"] += 1
    assert row_counts() == counts
    assert not fake_telegram.calls_of("sendMessage")


def test_updates_other_than_messages_are_ignored(bot, fake_telegram, django_capture_on_commit_callbacks):
    update = {"update_id": 1, "edited_message": fake_telegram.update(user_id=3)["message"]}
    assert _deliver(bot, update, django_capture_on_commit_callbacks).json()["outcome"] == "ignored"
    assert not Session.objects.exists()


def test_a_message_the_pipeline_refuses_is_recorded_and_acknowledged(
    bot, fake_telegram, settings, django_capture_on_commit_callbacks
):
    settings.MESSAGE_MAX_CHARS = 10
    response = _deliver(
        bot, fake_telegram.update(user_id=5, text="far too long for the cap"), django_capture_on_commit_callbacks
    )
    assert response.status_code == 200 and response.json()["outcome"] == "rejected"
    assert TelegramUpdate.objects.get().detail == "validation_error"
    assert not Run.objects.exists() and not Session.objects.exists()


@pytest.mark.parametrize(
    ("secret", "status", "code"),
    [
        (None, 401, "missing_webhook_secret"),
        ("wrong-secret", 403, "invalid_webhook_secret"),
        ("", 401, "missing_webhook_secret"),
    ],
)
def test_a_wrong_or_missing_secret_is_refused_and_nothing_happens(
    bot, fake_telegram, django_capture_on_commit_callbacks, secret, status, code
):
    counts = row_counts()
    response = _deliver(
        bot, fake_telegram.update(user_id=5, text="hi"), django_capture_on_commit_callbacks, secret=secret
    )
    assert response.status_code == status
    detail = response.json()["detail"]
    assert detail["code"] == code and detail["fix"]
    assert row_counts() == counts and not fake_telegram.calls_of("sendMessage")


def test_an_unknown_channel_answers_like_a_wrong_secret(bot, fake_telegram):
    response = Client().post(
        "/hooks/telegram/dch_000000000000000000000000",
        fake_telegram.update(user_id=5),
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=bot["secret"],
    )
    assert response.status_code == 403 and response.json()["detail"]["code"] == "invalid_webhook_secret"


def test_another_bots_secret_does_not_open_this_bots_webhook(bot, owner, fake_telegram):
    token = fake_telegram.bot_create()
    channels.telegram_channel_connect(
        app=owner.api_key.app, bot_token=token, routing_mode="single_character", default_character_slug="luna"
    )
    response = _post(bot, fake_telegram.update(user_id=5), secret=fake_telegram.webhook_of(token)[1])
    assert response.status_code == 403


@pytest.mark.parametrize("body", ['{"message": {}}', "[1, 2]", "not json", '{"update_id": "12"}'])
def test_a_body_that_is_not_an_update_is_400(bot, body):
    counts = row_counts()
    response = Client().post(
        bot["path"], body, content_type="application/json", HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=bot["secret"]
    )
    assert response.status_code == 400 and response.json()["detail"]["code"] == "invalid_update"
    assert row_counts() == counts


# --- outbound reliability ------------------------------------------------------------------------------
def test_a_429_waits_retry_after_and_then_sends_each_bubble_once(
    bot, fake_telegram, django_capture_on_commit_callbacks
):
    fake_telegram.fail("sendMessage", error_code=429, retry_after=3)
    _deliver(bot, fake_telegram.update(user_id=4242, text="hello"), django_capture_on_commit_callbacks)

    greeting = TelegramDelivery.objects.order_by("cursor").first()
    assert (greeting.status, greeting.attempts, greeting.last_status_code) == ("pending", 1, 429)
    wait = (greeting.next_attempt_at - clock.now()).total_seconds()
    assert 2 < wait <= 3
    assert fake_telegram.sent_texts() == []  # the chat's queue waits: nothing overtakes the greeting
    assert outbound.telegram_chat_drain(chat_id=greeting.chat_id) == pytest.approx(wait, abs=0.5)
    assert fake_telegram.sent_texts() == []

    TelegramDelivery.objects.filter(status="pending").update(next_attempt_at=clock.now() - timedelta(seconds=1))
    assert outbound.telegram_chats_due() == [greeting.chat_id]
    assert tasks.telegram_deliveries_sweep_task() == 1

    reply = Event.objects.get(event_type="message.created", role="character")
    assert fake_telegram.sent_texts() == [GREETING, *reply.payload["bubbles"]]
    assert set(TelegramDelivery.objects.values_list("status", flat=True)) == {"delivered", "skipped"}


def test_a_failure_mid_reply_resumes_after_the_last_bubble_telegram_took(bot, fake_telegram, owner):
    chat = _bound_chat(bot, owner)
    _append_reply(chat, ["one.", "two.", "three."])
    fake_telegram.fail("sendMessage", error_code=500, after=1)  # "one." goes through, "two." gets a 500

    assert outbound.telegram_chat_drain(chat_id=chat.pk) == 2.0
    delivery = TelegramDelivery.objects.get()
    assert (delivery.status, delivery.parts_sent, delivery.attempts) == ("pending", 1, 1)
    TelegramDelivery.objects.update(next_attempt_at=clock.now())
    assert outbound.telegram_chat_drain(chat_id=chat.pk) is None

    assert fake_telegram.sent_texts() == ["one.", "two.", "three."]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.parts_sent, len(delivery.message_ids)) == ("delivered", 3, 3)


def test_permanent_refusals_fail_the_row_and_the_queue_moves_on(bot, fake_telegram, owner):
    chat = _bound_chat(bot, owner)
    _append_reply(chat, ["first."])
    fake_telegram.fail("sendMessage", error_code=403)
    outbound.telegram_chat_drain(chat_id=chat.pk)
    _append_reply(chat, ["second."])
    outbound.telegram_chat_drain(chat_id=chat.pk)
    statuses = list(TelegramDelivery.objects.order_by("cursor").values_list("status", "last_status_code"))
    assert statuses == [("failed", 403), ("delivered", None)]
    assert fake_telegram.sent_texts() == ["second."]


def test_transient_errors_back_off_and_give_up_after_the_last_attempt(bot, fake_telegram, owner, settings):
    settings.TELEGRAM_MAX_ATTEMPTS = 3
    chat = _bound_chat(bot, owner)
    _append_reply(chat, ["hello."])
    fake_telegram.fail("sendMessage", error_code=502, times=10)
    waits = []
    for _ in range(3):
        waits.append(outbound.telegram_chat_drain(chat_id=chat.pk))
        TelegramDelivery.objects.filter(status="pending").update(next_attempt_at=clock.now())
    delivery = TelegramDelivery.objects.get()
    assert waits == [2.0, 4.0, None]
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 3, 502)


def test_a_revoked_token_stops_the_channel(bot, fake_telegram, owner):
    chat = _bound_chat(bot, owner)
    _append_reply(chat, ["hello."])
    fake_telegram.bot_revoke(bot["token"])
    outbound.telegram_chat_drain(chat_id=chat.pk)
    bot["channel"].refresh_from_db()
    assert bot["channel"].status == "unauthorized"
    assert TelegramDelivery.objects.get().status == "failed"


def test_scans_write_one_row_per_event_even_when_repeated(bot, owner):
    chat = _bound_chat(bot, owner)
    _append_reply(chat, ["a."])
    TelegramChat.objects.filter(pk=chat.pk).update(scanned_cursor=0)
    assert outbound.telegram_chat_scan(chat_id=chat.pk) == 2  # the greeting and the reply
    TelegramChat.objects.filter(pk=chat.pk).update(scanned_cursor=0)  # as if a second sender scanned concurrently
    outbound.telegram_chat_scan(chat_id=chat.pk)
    assert TelegramDelivery.objects.count() == 2
    assert TelegramChat.objects.get(pk=chat.pk).scanned_cursor == chat.session.events.count()


def test_a_held_lease_keeps_a_second_sender_out(bot, owner, fake_telegram):
    chat = _bound_chat(bot, owner)
    _append_reply(chat, ["a."])
    TelegramChat.objects.filter(pk=chat.pk).update(lease_expires_at=clock.now() + timedelta(seconds=30))
    assert outbound.telegram_chat_drain(chat_id=chat.pk) is None
    assert fake_telegram.sent_texts() == [] and tasks.telegram_deliveries_sweep_task() == 0
    TelegramChat.objects.filter(pk=chat.pk).update(lease_expires_at=clock.now() - timedelta(seconds=1))
    assert outbound.telegram_chats_due() == [chat.pk]  # a dead sender's chat is taken over after its lease
    assert tasks.telegram_deliveries_sweep_task() == 1
    assert fake_telegram.sent_texts() == ["a."]


def test_typing_is_skipped_when_the_reply_is_already_there(bot, owner, fake_telegram):
    chat = _bound_chat(bot, owner)
    run = Run.objects.create(session=chat.session, trigger_cursor=1, available_at=clock.now())
    with transaction.atomic():
        events_append(
            session_id=chat.session_id,
            events=[
                NewEvent("run.status", {"status": "generating", "run_ref": run.id}, run_id=run.id),
                NewEvent("message.created", {"text": "hi.", "bubbles": ["hi."]}, "character", run.id),
            ],
        )
    outbound.telegram_chat_drain(chat_id=chat.pk)
    assert _bot_calls(fake_telegram, bot["token"]) == [("sendMessage", "hi.")]
    assert list(TelegramDelivery.objects.order_by("cursor").values_list("kind", "status")) == [
        ("typing", "skipped"),
        ("message", "delivered"),
    ]


def test_long_bubbles_are_cut_to_telegrams_limit(bot, owner, fake_telegram):
    chat = _bound_chat(bot, owner)
    _append_reply(chat, ["x" * 5000])
    outbound.telegram_chat_drain(chat_id=chat.pk)
    assert [len(text) for text in fake_telegram.sent_texts()] == [4096, 904]


def test_sessions_not_bound_to_telegram_are_not_sent(bot, owner, fake_telegram, django_capture_on_commit_callbacks):
    session = services.session_create(app=owner.api_key.app, character_slug="luna", external_user_ref="telegram:1")
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(app=owner.api_key.app, session_id=session.id, text="hi")
    assert fake_telegram.calls_of("sendMessage") == [] and not TelegramDelivery.objects.exists()


# --- helpers -------------------------------------------------------------------------------------------
def _bound_chat(bot, owner) -> TelegramChat:
    session = services.session_create(app=owner.api_key.app, character_slug="luna", external_user_ref="telegram:31")
    chat = TelegramChat.objects.create(channel=bot["channel"], telegram_user_id=31, chat_id=31, session=session)
    PUSH_ROUTES.bump()
    TelegramChat.objects.filter(pk=chat.pk).update(scanned_cursor=session.last_cursor)  # the greeting is out of scope
    chat.refresh_from_db()
    return chat


def _append_reply(chat: TelegramChat, bubbles: list[str]) -> None:
    with transaction.atomic():
        events_append(
            session_id=chat.session_id,
            events=[NewEvent("message.created", {"text": " ".join(bubbles), "bubbles": bubbles}, "character")],
        )


def _start_turn(chat: TelegramChat) -> Run:
    run = Run.objects.create(session=chat.session, trigger_cursor=1, available_at=clock.now())
    with transaction.atomic():
        events_append(
            session_id=chat.session_id,
            events=[NewEvent("run.status", {"status": "generating", "run_ref": run.id}, run_id=run.id)],
        )
    return run


@pytest.mark.parametrize("ending", ["reply", "failure"])
def test_typing_is_repeated_while_the_turn_generates_and_stops_when_it_ends(bot, owner, fake_telegram, ending):
    chat = _bound_chat(bot, owner)
    run = _start_turn(chat)

    assert outbound.telegram_chat_drain(chat_id=chat.pk) == outbound.TYPING_REPEAT_SECONDS
    TelegramDelivery.objects.update(next_attempt_at=clock.now())  # as if 4.5 s went by
    assert outbound.telegram_chat_drain(chat_id=chat.pk) == outbound.TYPING_REPEAT_SECONDS
    with transaction.atomic():
        if ending == "reply":
            events_append(
                session_id=chat.session_id,
                events=[NewEvent("message.created", {"text": "hi.", "bubbles": ["hi."]}, "character", run.id)],
            )
        else:
            events_append(
                session_id=chat.session_id,
                events=[NewEvent("run.failed", {"run_ref": run.id, "code": "x", "message": "x"}, run_id=run.id)],
            )
    assert outbound.telegram_chat_drain(chat_id=chat.pk) is None  # the wait for the next typing is dropped

    typing_then = [("sendChatAction", "typing"), ("sendChatAction", "typing")]
    assert _bot_calls(fake_telegram, bot["token"]) == typing_then + (
        [("sendMessage", "hi.")] if ending == "reply" else []
    )
    typing_row = TelegramDelivery.objects.get(kind="typing")
    assert (typing_row.status, typing_row.attempts) == ("delivered", 2)


def test_a_failed_typing_action_is_not_retried_and_holds_nothing_back(bot, owner, fake_telegram):
    chat = _bound_chat(bot, owner)
    _start_turn(chat)
    fake_telegram.fail("sendChatAction", error_code=500)
    assert outbound.telegram_chat_drain(chat_id=chat.pk) is None
    _append_reply(chat, ["there."])
    outbound.telegram_chat_drain(chat_id=chat.pk)
    assert fake_telegram.sent_texts() == ["there."]
    assert list(TelegramDelivery.objects.order_by("cursor").values_list("kind", "status")) == [
        ("typing", "failed"),
        ("message", "delivered"),
    ]


def test_bot_tokens_never_reach_the_logs(bot, owner, fake_telegram, caplog):
    chat = _bound_chat(bot, owner)
    _append_reply(chat, ["logged?"])
    with caplog.at_level(logging.DEBUG):
        outbound.telegram_chat_drain(chat_id=chat.pk)
    assert fake_telegram.sent_texts() == ["logged?"]
    assert "/bot<redacted>/sendMessage" in caplog.text  # the client's request line is there, without the token
    assert bot["token"].split(":")[1] not in caplog.text


def test_the_admin_shows_channels_and_sends_but_never_the_token(admin_client, bot, owner):
    chat = _bound_chat(bot, owner)
    _append_reply(chat, ["hi."])
    outbound.telegram_chat_drain(chat_id=chat.pk)
    channel = bot["channel"]
    pages = [
        reverse("admin:delivery_telegramchannel_changelist"),
        reverse("admin:delivery_telegramchannel_change", args=[quote(channel.pk)]),
        reverse("admin:delivery_telegramchat_changelist"),
        reverse("admin:delivery_telegramdelivery_changelist"),
        reverse("admin:delivery_telegramdelivery_change", args=[quote(TelegramDelivery.objects.get().pk)]),
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        assert bot["token"].split(":")[1] not in text and bot["secret"] not in text
    assert channel.bot_username in admin_client.get(pages[0]).content.decode()


def test_a_proactive_message_reaches_the_chat_with_nobody_writing_first(
    bot, fake_telegram, django_capture_on_commit_callbacks
):
    _deliver(bot, fake_telegram.update(user_id=606, text="/start"), django_capture_on_commit_callbacks)
    session = Session.objects.get(external_user_ref="telegram:606")
    fake_telegram.calls_clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.proactive_test_send(app=session.app, session_id=session.id)

    message = Event.objects.get(session=session, event_type="message.created", role="character")
    assert message.payload.get("proactive")
    assert fake_telegram.sent_texts(chat_id=606) == message.payload["bubbles"]
