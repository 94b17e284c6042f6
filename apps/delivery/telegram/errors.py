"""Errors of Telegram channels: connecting bots (token, webhook, Telegram itself) and inbound updates."""

from apps.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied, UpstreamUnavailable


class TelegramChannelNotFound(NotFound):
    code = "delivery_channel_not_found"
    fix = "Check the channel id; list your Telegram channels with GET /v1/apps/{app_id}/delivery-channels/telegram."


class TelegramTokenInvalid(ApplicationError):
    code = "telegram_token_invalid"
    status = 422
    fix = "Copy the bot token again from @BotFather (/mybots → API Token); it looks like 123456789:AA…"


class TelegramWebhookRejected(ApplicationError):
    """Telegram refused our setWebhook (for example a URL that is not HTTPS on an allowed port)."""

    code = "telegram_webhook_rejected"
    status = 422
    fix = "Telegram needs PUBLIC_BASE_URL to be an https:// address on port 443, 80, 88 or 8443; ask the operator."


class TelegramUnavailable(UpstreamUnavailable):
    code = "telegram_unavailable"
    fix = "Telegram did not answer; retry in a minute. Nothing was saved."


class TelegramBotTaken(Conflict):
    code = "telegram_bot_already_connected"
    fix = "This bot is connected to another app on this server; disconnect it there first or use another bot."


class PublicBaseUrlUnset(ApplicationError):
    code = "public_base_url_unset"
    status = 503
    fix = "The operator must set PUBLIC_BASE_URL to the https:// address where Telegram can reach this server."


class TelegramNotForSandbox(PermissionDenied):
    code = "demo_key_surface_disabled"
    fix = "Sandbox keys cannot connect Telegram bots; use a full API key."


class TelegramWebhookSecretMissing(ApplicationError):
    code = "missing_webhook_secret"
    status = 401
    fix = "Telegram sends X-Telegram-Bot-Api-Secret-Token; only Telegram should call this URL."


class TelegramWebhookSecretInvalid(PermissionDenied):
    code = "invalid_webhook_secret"
    fix = "Only Telegram, with the secret registered by setWebhook, may call this URL; re-verify the channel."


class TelegramUpdateInvalid(ApplicationError):
    code = "invalid_update"
    status = 400
    fix = "Send a Telegram Update object: a JSON object with an integer update_id."
