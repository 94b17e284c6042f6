"""Telegram over real processes: the web server connects a bot and takes Telegram's webhook posts, and the
worker (Celery in production mode, the in-process pool embedded) sends the replies to a fake Bot API on
127.0.0.1, honouring a 429's retry_after, in order and once."""

import time

import pytest

from apps.accounts import services as accounts_services
from apps.characters.tests.factories import character_publish
from apps.conversations.models import Event
from apps.delivery.models import TelegramDelivery
from tests.fakes.telegram_server import FakeTelegramServer
from tests.live import PRODUCTION, live_stack_factory  # noqa: F401  (fixture)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

GREETING = "hey, I'm Luna!"
RETRY_AFTER = 1


def test_an_update_posted_by_telegram_is_answered_in_the_chat(live_stack_factory):  # noqa: F811
    with FakeTelegramServer() as telegram:
        env = {
            "TELEGRAM_API_BASE_URL": telegram.base_url,
            "PUBLIC_BASE_URL": "https://dramatis.example",
            "TELEGRAM_SWEEP_INTERVAL_SECONDS": "0.5",
            "RUNS_RECOVER_INTERVAL_SECONDS": "1",
        }
        stack = live_stack_factory(env=env, workers=0)
        if PRODUCTION:  # with beat, whose sweeps are part of the delivery guarantee
            stack.start_worker("worker", beat=True)
        app = accounts_services.app_create(name="telegram live")
        client = stack.client(accounts_services.api_key_create(app=app, name="live").raw_key)
        character_publish(app, slug="luna", greeting=GREETING)
        token = telegram.bot_create(username="luna_bot")

        # given a bot connected over the API
        connected = client.post(
            f"/v1/apps/{app.id}/delivery-channels/telegram", {"bot_token": token, "default_character_id": "luna"}
        )
        assert connected.status == 201, connected.body
        url, secret = telegram.webhook_of(token)
        assert url == f"https://dramatis.example/hooks/telegram/{connected.data['channel_id']}"
        path = url.removeprefix("https://dramatis.example")

        # when Telegram posts a user's message, while its flood control refuses the first send
        telegram.fail("sendMessage", error_code=429, retry_after=RETRY_AFTER)
        update = telegram.update(user_id=777, text="hi Luna, how was your day?")
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        posted = stack.client().post(path, update, headers=headers)
        assert posted.status == 200 and posted.body["outcome"] == "accepted", posted.body

        # then the greeting, the typing action and every bubble of the reply reach the chat, in order
        def reply_bubbles() -> list[str] | None:
            reply = Event.objects.filter(event_type="message.created", role="character").first()
            if reply is None:
                return None
            expected = [GREETING, *reply.payload["bubbles"]]
            return expected if telegram.sent_texts(chat_id=777) == expected else None

        expected = stack.wait_for(reply_bubbles, timeout=60, what="the greeting and the reply in the Telegram chat")
        sends = [c for c in telegram.calls if c.method in ("sendMessage", "sendChatAction")]
        refused, first_accepted = sends[0], next(c for c in sends if c.params.get("_accepted"))
        assert refused.method == "sendMessage" and not refused.params.get("_accepted")
        assert first_accepted.at - refused.at >= RETRY_AFTER - 0.05  # retry_after was honoured
        accepted = [(c.method, c.params.get("text")) for c in sends if c.params.get("_accepted")]
        # typing comes between the greeting and the reply, unless the reply was out first (then it is skipped)
        assert accepted in (
            [("sendMessage", text) for text in expected],
            [("sendMessage", GREETING), ("sendChatAction", None), *[("sendMessage", text) for text in expected[1:]]],
        )

        # and a re-delivery of the same update changes nothing
        again = stack.client().post(path, update, headers=headers)
        assert again.status == 200 and again.body["outcome"] == "duplicate"
        time.sleep(1.5)  # a few sweeps: nothing more may go out
        assert telegram.sent_texts(chat_id=777) == expected
        assert set(TelegramDelivery.objects.values_list("status", flat=True)) <= {"delivered", "skipped"}

        # and a post without the secret is refused
        assert stack.client().post(path, telegram.update(user_id=778)).status == 401
