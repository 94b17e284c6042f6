"""The delivery app's errors, as one door: webhooks' and Telegram's (each also importable from its own
package)."""

from apps.delivery.telegram.errors import (
    PublicBaseUrlUnset,
    TelegramBotTaken,
    TelegramChannelNotFound,
    TelegramNotForSandbox,
    TelegramTokenInvalid,
    TelegramUnavailable,
    TelegramUpdateInvalid,
    TelegramWebhookRejected,
    TelegramWebhookSecretInvalid,
    TelegramWebhookSecretMissing,
)
from apps.delivery.webhooks.errors import (
    WebhookEndpointNotFound,
    WebhookSecretInvalid,
    WebhookUrlForbidden,
    WebhookUrlInvalid,
    WebhookUrlUnresolvable,
)

__all__ = [
    "PublicBaseUrlUnset",
    "TelegramBotTaken",
    "TelegramChannelNotFound",
    "TelegramNotForSandbox",
    "TelegramTokenInvalid",
    "TelegramUnavailable",
    "TelegramUpdateInvalid",
    "TelegramWebhookRejected",
    "TelegramWebhookSecretInvalid",
    "TelegramWebhookSecretMissing",
    "WebhookEndpointNotFound",
    "WebhookSecretInvalid",
    "WebhookUrlForbidden",
    "WebhookUrlInvalid",
    "WebhookUrlUnresolvable",
]
