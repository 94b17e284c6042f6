"""Telegram updates in: a private text message becomes ``message_send`` in the sender's session.

Telegram re-delivers an update until it gets a 2xx, so the update's row (unique per channel and update_id)
is written in the same transaction as the message: a re-delivery finds it and changes nothing. Whatever
the pipeline refuses (a quota, a too long text) is recorded and acknowledged too; answering an error would
only make Telegram send the same update again and again.
"""

import hmac
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from apps.conversations import services as conversation_services
from apps.core.errors import ApplicationError
from apps.delivery import selectors as delivery_selectors
from apps.delivery.telegram.errors import (
    TelegramUpdateInvalid,
    WebhookSecretInvalid,
    WebhookSecretMissing,
)
from apps.delivery.telegram.models import TelegramChannel, TelegramChat, TelegramUpdate

logger = logging.getLogger(__name__)

START_COMMAND = "/start"


@dataclass(frozen=True)
class UpdateOutcome:
    outcome: str  # accepted | ignored | rejected | duplicate
    detail: str = ""
    session_id: str = ""


def telegram_channel_authenticate(*, channel_id: str, secret: str | None) -> TelegramChannel:
    """The channel whose webhook secret is ``secret`` (compared in constant time).

    A missing header raises WebhookSecretMissing (401); a wrong secret and an unknown channel both raise
    WebhookSecretInvalid (403), so the URL does not tell which channels exist.
    """
    if not secret:
        raise WebhookSecretMissing("The X-Telegram-Bot-Api-Secret-Token header is missing.")
    channel = TelegramChannel.objects.select_related("app", "default_character").filter(pk=channel_id).first()
    expected = channel.webhook_secret if channel is not None else "-"
    if not hmac.compare_digest(expected.encode(), secret.encode()) or channel is None:
        raise WebhookSecretInvalid("The webhook secret does not match.")
    return channel


def _private_text(update: dict) -> tuple[int, int, str] | None:
    """(user id, chat id, text) of a private text message from a person, else None."""
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    text, chat, sender = message.get("text"), message.get("chat"), message.get("from")
    if not isinstance(text, str) or not isinstance(chat, dict) or not isinstance(sender, dict):
        return None
    if chat.get("type") != "private" or sender.get("is_bot") is True:
        return None
    user_id, chat_id = sender.get("id"), chat.get("id")
    if not isinstance(user_id, int) or not isinstance(chat_id, int) or isinstance(user_id, bool):
        return None
    return user_id, chat_id, text


def _chat_get_or_create(channel: TelegramChannel, user_id: int, chat_id: int) -> tuple[TelegramChat, bool]:
    """The user's chat and session; the first message starts the session (its greeting goes out first)."""
    chat = TelegramChat.objects.filter(channel=channel, telegram_user_id=user_id).first()
    if chat is not None:
        return chat, False
    try:
        with transaction.atomic():
            session = conversation_services.session_create(
                app=channel.app,
                character_slug=channel.default_character.slug,
                external_user_ref=f"telegram:{user_id}",
            )
            chat = TelegramChat.objects.create(
                channel=channel, telegram_user_id=user_id, chat_id=chat_id, session=session
            )
            delivery_selectors.PUSH_ROUTES.bump()
            return chat, True
    except IntegrityError:  # the same user's other update created it concurrently; use that one
        return TelegramChat.objects.get(channel=channel, telegram_user_id=user_id), False


@transaction.atomic
def telegram_update_receive(*, channel: TelegramChannel, update: dict) -> UpdateOutcome:
    """Handle one update for ``channel`` (already authenticated); idempotent per update_id.

    - a private text message from a person: ``message_send`` in the session of ``telegram:<user id>``
      (created, with the default character's greeting, on the user's first message);
    - ``/start``: opens the session (so the greeting is the bot's first words) without sending a message;
    - anything else (edits, media, groups, channel posts, callbacks): recorded as ignored.
    Raises TelegramUpdateInvalid for a body without an integer update_id.
    """
    update_id = update.get("update_id") if isinstance(update, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise TelegramUpdateInvalid("The body is not a Telegram Update (no integer update_id).")
    try:
        with transaction.atomic():
            record = TelegramUpdate.objects.create(
                channel=channel, update_id=update_id, outcome=TelegramUpdate.Outcome.IGNORED
            )
    except IntegrityError:
        return UpdateOutcome("duplicate")
    parsed = _private_text(update)
    if parsed is None:
        return UpdateOutcome(record.outcome, "not_a_private_text_message")
    user_id, chat_id, text = parsed
    command = text.strip().split("@", 1)[0].split(" ", 1)[0]
    try:
        with transaction.atomic():
            chat, created = _chat_get_or_create(channel, user_id, chat_id)
            if command == START_COMMAND:
                accepted = TelegramUpdate.Outcome.ACCEPTED if created else TelegramUpdate.Outcome.IGNORED
                outcome = UpdateOutcome(accepted, "start", chat.session_id)
            else:
                conversation_services.message_send(app=channel.app, session_id=chat.session_id, text=text)
                outcome = UpdateOutcome(TelegramUpdate.Outcome.ACCEPTED, "", chat.session_id)
    except ApplicationError as error:
        logger.info("Telegram update %s of channel %s refused: %s", update_id, channel.pk, error.code)
        outcome = UpdateOutcome(TelegramUpdate.Outcome.REJECTED, error.code)
    TelegramUpdate.objects.filter(pk=record.pk).update(
        outcome=outcome.outcome, detail=outcome.detail[:64], session_id=outcome.session_id
    )
    return outcome
