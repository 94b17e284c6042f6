"""Telegram updates in: a private text message becomes ``message_send`` in the sender's session.

The hook surface (``apps/api/hooks``) reads the Bot API's JSON into an ``InboundUpdate``; this module decides
what the update means. Telegram re-delivers an update until it gets a 2xx, so the update's row (unique per
channel and update_id) is written in the same transaction as the message: a re-delivery finds it and
changes nothing. Whatever the pipeline refuses (a quota, a too long text) is recorded and acknowledged too;
answering an error would only make Telegram send the same update again and again.
"""

import hmac
import logging

from django.db import IntegrityError, transaction

from apps.conversations import services as conversation_services
from apps.core.errors import ApplicationError
from apps.delivery.routes import PUSH_ROUTES
from apps.delivery.telegram.errors import TelegramWebhookSecretInvalid, TelegramWebhookSecretMissing
from apps.delivery.telegram.models import TelegramChannel, TelegramChat, TelegramUpdate
from apps.delivery.telegram.types import InboundUpdate, UpdateOutcome

logger = logging.getLogger(__name__)

START_COMMAND = "/start"


def telegram_channel_authenticate(*, channel_id: str, secret: str | None) -> TelegramChannel:
    """The channel whose webhook secret is ``secret`` (compared in constant time).

    A missing header raises TelegramWebhookSecretMissing (401); a wrong secret and an unknown channel both raise
    TelegramWebhookSecretInvalid (403), so the URL does not tell which channels exist.
    """
    if not secret:
        raise TelegramWebhookSecretMissing("The X-Telegram-Bot-Api-Secret-Token header is missing.")
    channel = TelegramChannel.objects.select_related("app", "default_character").filter(pk=channel_id).first()
    expected = channel.webhook_secret if channel is not None else "-"
    if not hmac.compare_digest(expected.encode(), secret.encode()) or channel is None:
        raise TelegramWebhookSecretInvalid("The webhook secret does not match.")
    return channel


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
            PUSH_ROUTES.bump()
            return chat, True
    except IntegrityError:  # the same user's other update created it concurrently; use that one
        return TelegramChat.objects.get(channel=channel, telegram_user_id=user_id), False


@transaction.atomic
def telegram_update_receive(*, channel: TelegramChannel, update: InboundUpdate) -> UpdateOutcome:
    """Handle one update for ``channel`` (already authenticated); idempotent per update_id.

    - a private text message from a person: ``message_send`` in the session of ``telegram:<user id>``
      (created, with the default character's greeting, on the user's first message);
    - ``/start``: opens the session (so the greeting is the bot's first words) without sending a message;
    - anything else (edits, media, groups, channel posts, callbacks, bots): recorded as ignored.
    """
    try:
        with transaction.atomic():
            record = TelegramUpdate.objects.create(
                channel=channel, update_id=update.update_id, outcome=TelegramUpdate.Outcome.IGNORED
            )
    except IntegrityError:
        return UpdateOutcome("duplicate")
    message = update.message
    if message is None or not message.private or message.from_bot:
        return UpdateOutcome(record.outcome, "not_a_private_text_message")
    user_id, chat_id, text = message.user_id, message.chat_id, message.text
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
        logger.info("Telegram update %s of channel %s refused: %s", update.update_id, channel.pk, error.code)
        outcome = UpdateOutcome(TelegramUpdate.Outcome.REJECTED, error.code)
    TelegramUpdate.objects.filter(pk=record.pk).update(
        outcome=outcome.outcome, detail=outcome.detail[:64], session_id=outcome.session_id
    )
    return outcome
