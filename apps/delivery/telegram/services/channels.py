"""Connecting, verifying and disconnecting Telegram bots.

Telegram is called outside any transaction and before anything is written, so a refused token, a refused
webhook or an unreachable Telegram leave no row behind.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.characters import selectors as character_selectors
from apps.core import clock
from apps.core.errors import ValidationFailed
from apps.core.ids import new_id
from apps.delivery.routes import PUSH_ROUTES
from apps.delivery.telegram import bot_api
from apps.delivery.telegram.bot_api import BotApiError
from apps.delivery.telegram.errors import (
    PublicBaseUrlUnset,
    TelegramBotTaken,
    TelegramTokenInvalid,
    TelegramUnavailable,
    TelegramWebhookRejected,
)
from apps.delivery.telegram.models import TelegramChannel, TelegramChat, TelegramDelivery, TelegramUpdate
from apps.delivery.telegram.types import TOKEN_PATTERN, VerifyReport

if TYPE_CHECKING:
    from apps.accounts.models import App

logger = logging.getLogger(__name__)

# What the inbound endpoint handles; other update types are not even sent to us.
ALLOWED_UPDATES = ["message"]
# Telegram: 1-256 characters of A-Z, a-z, 0-9, _ and -; token_urlsafe(32) gives 43 of them.
SECRET_BYTES = 32


def inbound_url(channel_id: str) -> str:
    """Where Telegram posts this channel's updates (``apps/api/hooks``)."""
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    if not base:
        raise PublicBaseUrlUnset("PUBLIC_BASE_URL is not set, so Telegram would have nowhere to send updates.")
    return f"{base}/hooks/telegram/{channel_id}"


def _refusal(error: BotApiError, *, token_check: bool = False):
    """The domain error for a failed Bot API call made on behalf of a request."""
    if error.transient:
        return TelegramUnavailable(f"Telegram could not be reached or failed: {error.description}")
    if token_check and error.unauthorized:
        return TelegramTokenInvalid("Telegram does not accept this bot token (getMe answered Unauthorized).")
    return TelegramWebhookRejected(f"Telegram refused {error.method}: {error.description}")


def telegram_channel_connect(
    *, app: App, bot_token: str, routing_mode: str, default_character_slug: str
) -> tuple[TelegramChannel, bool]:
    """Connect a bot to ``app``: check the token with getMe, point the bot's webhook at our inbound URL with a
    fresh secret token, and store token and secret encrypted. Returns (channel, created).

    Connecting a bot the app already connected updates that channel (new token, character and secret).
    Raises CharacterNotFound (404), CharacterNotPublished (409), TelegramTokenInvalid (422),
    TelegramWebhookRejected (422), TelegramUnavailable (503), TelegramBotTaken (409, another app's bot) and
    PublicBaseUrlUnset (503); in every case nothing is stored.
    """
    character = character_selectors.character_published_get(app=app, slug=default_character_slug)
    if not TOKEN_PATTERN.match(bot_token):
        raise ValidationFailed(
            {"bot_token": ["Not a bot token; they look like 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw."]}
        )
    try:
        me = bot_api.call(bot_token, "getMe")
    except BotApiError as error:
        raise _refusal(error, token_check=True) from None
    bot_id = int(me["id"])
    existing = TelegramChannel.objects.filter(bot_id=bot_id).first()
    if existing is not None and existing.app_id != app.pk:
        raise TelegramBotTaken(f"The bot @{me.get('username', bot_id)} is already connected to another app.")
    channel_id = existing.pk if existing else new_id("dch")
    secret = secrets.token_urlsafe(SECRET_BYTES)
    url = inbound_url(channel_id)
    try:
        bot_api.call(bot_token, "setWebhook", {"url": url, "secret_token": secret, "allowed_updates": ALLOWED_UPDATES})
    except BotApiError as error:
        raise _refusal(error) from None
    fields = {
        "app": app,
        "bot_token": bot_token,
        "token_hint": bot_api.token_hint(bot_token),
        "bot_id": bot_id,
        "bot_username": str(me.get("username") or ""),
        "bot_name": str(me.get("first_name") or "")[:128],
        "routing_mode": routing_mode,
        "default_character": character,
        "webhook_secret": secret,
        "status": TelegramChannel.Status.ACTIVE,
        "webhook_status": TelegramChannel.WebhookStatus.REGISTERED,
        "last_error": "",
        "verified_at": clock.now(),
    }
    try:
        with transaction.atomic():
            if existing is not None:
                for name, value in fields.items():
                    setattr(existing, name, value)
                existing.save()
                return existing, False
            return TelegramChannel.objects.create(id=channel_id, **fields), True
    except IntegrityError:  # connected concurrently by another request; that one owns the webhook now
        raise TelegramBotTaken(f"The bot @{me.get('username', bot_id)} was connected by another request.") from None


def telegram_channel_verify(*, channel: TelegramChannel) -> VerifyReport:
    """Re-check a channel: getMe (is the token still good?) and getWebhookInfo (is the webhook ours?).

    A webhook that is missing or points elsewhere is registered again (with a new secret). The outcome is
    stored on the channel (``status``, ``webhook_status``, ``pending_update_count``, ``verified_at``) and
    reported; only an unreachable Telegram is an error (TelegramUnavailable, nothing changed).
    """
    token = channel.bot_token
    repaired = False
    telegram_error = ""
    try:
        me = bot_api.call(token, "getMe")
    except BotApiError as error:
        if not error.unauthorized:
            raise _refusal(error) from None
        channel.status = TelegramChannel.Status.UNAUTHORIZED
        channel.webhook_status = TelegramChannel.WebhookStatus.UNKNOWN
        channel.last_error = "Telegram refuses the bot token (revoked or replaced in @BotFather)."
        channel.verified_at = clock.now()
        channel.save()
        return VerifyReport(channel, "", False, "")
    url = inbound_url(channel.pk)
    try:
        info = bot_api.call(token, "getWebhookInfo")
        if info.get("url") != url:
            secret = secrets.token_urlsafe(SECRET_BYTES)
            bot_api.call(token, "setWebhook", {"url": url, "secret_token": secret, "allowed_updates": ALLOWED_UPDATES})
            channel.webhook_secret = secret
            repaired = True
            info = bot_api.call(token, "getWebhookInfo")
    except BotApiError as error:
        if error.transient:
            raise _refusal(error) from None
        info = {"url": ""}
        telegram_error = error.description
    telegram_error = telegram_error or str(info.get("last_error_message") or "")
    if info.get("url") != url:
        webhook_status = (
            TelegramChannel.WebhookStatus.MISMATCHED if info.get("url") else TelegramChannel.WebhookStatus.MISSING
        )
    elif telegram_error:
        webhook_status = TelegramChannel.WebhookStatus.FAILING
    else:
        webhook_status = TelegramChannel.WebhookStatus.REGISTERED
    channel.bot_username = str(me.get("username") or channel.bot_username)
    channel.bot_name = str(me.get("first_name") or channel.bot_name)[:128]
    channel.webhook_status = webhook_status
    channel.status = (
        TelegramChannel.Status.ACTIVE
        if webhook_status == TelegramChannel.WebhookStatus.REGISTERED
        else TelegramChannel.Status.DEGRADED
    )
    pending = info.get("pending_update_count")
    channel.pending_update_count = pending if isinstance(pending, int) and pending >= 0 else None
    channel.last_error = telegram_error[:500]
    channel.verified_at = clock.now()
    channel.save()
    return VerifyReport(channel, str(info.get("url") or ""), repaired, telegram_error)


def telegram_channel_delete(*, channel: TelegramChannel) -> bool:
    """Disconnect: deleteWebhook (best effort: a revoked token or an unreachable Telegram must not keep the
    channel alive), then delete the channel with its chats, pending sends and update log. The sessions stay.
    Returns whether Telegram confirmed the webhook removal."""
    try:
        bot_api.call(channel.bot_token, "deleteWebhook", {"drop_pending_updates": False})
        removed = True
    except BotApiError as error:
        logger.warning("deleteWebhook for channel %s failed: %s", channel.pk, error.description)
        removed = False
    channel.delete()
    PUSH_ROUTES.bump()
    return removed


def telegram_chats_erase(*, session_ids: list[str]) -> dict[str, int]:
    """Unbind the Telegram chats of an end-user's sessions (a GDPR erasure), in the caller's transaction: the chat
    rows (the user's Telegram ids) go with their deliveries (the messages' text), and the updates received from
    them forget which session they opened. Returns the counts of ``telegram_chats`` and ``telegram_deliveries``."""
    with transaction.atomic():
        _, deleted = TelegramChat.objects.filter(session_id__in=session_ids).delete()
        TelegramUpdate.objects.filter(session_id__in=session_ids).update(session_id="")
        chats = deleted.get(TelegramChat._meta.label, 0)
        if chats:
            PUSH_ROUTES.bump()
    return {"telegram_chats": chats, "telegram_deliveries": deleted.get(TelegramDelivery._meta.label, 0)}
