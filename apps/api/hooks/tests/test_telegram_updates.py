"""Reading Telegram's Update JSON into the domain's ``InboundUpdate`` (no database: a pure function)."""

import json

import pytest

from apps.api.hooks.telegram import update_parse
from apps.delivery.telegram.errors import TelegramUpdateInvalid
from apps.delivery.telegram.types import InboundUpdate, TelegramMessage


def _body(update) -> bytes:
    return json.dumps(update).encode()


def _update(*, chat_type="private", is_bot=False, user_id=7, **message) -> dict:
    body = {"message_id": 1, "from": {"id": user_id, "is_bot": is_bot}, "chat": {"id": 7, "type": chat_type}}
    return {"update_id": 41, "message": body | message}


def test_a_private_text_message_becomes_a_message():
    parsed = update_parse(_body(_update(text="hi")))
    assert parsed == InboundUpdate(41, TelegramMessage(user_id=7, chat_id=7, text="hi", private=True, from_bot=False))


def test_groups_and_bots_are_read_as_such_for_the_domain_to_decide():
    group = update_parse(_body(_update(text="hi all", chat_type="group"))).message
    bot = update_parse(_body(_update(text="beep", is_bot=True))).message
    assert (group.private, group.from_bot) == (False, False)
    assert (bot.private, bot.from_bot) == (True, True)


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 3, "edited_message": _update(text="hi")["message"]},
        _update(photo=[{"file_id": "x"}]),
        _update(text="hi", user_id=True),
        _update(text="hi", user_id="7"),
        {"update_id": 3, "message": {"text": "hi", "chat": {"id": 7, "type": "private"}}},
    ],
)
def test_anything_but_a_text_message_with_a_sender_has_no_message(update):
    assert update_parse(_body(update)).message is None


@pytest.mark.parametrize("body", [b'{"message": {}}', b"[1, 2]", b"not json", b'{"update_id": "12"}', b"\xff"])
def test_a_body_that_is_not_an_update_is_refused(body):
    with pytest.raises(TelegramUpdateInvalid):
        update_parse(body)
