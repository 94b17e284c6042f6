"""Models of the delivery app, one topic module each."""

from apps.delivery.telegram.models import TelegramChannel, TelegramChat, TelegramDelivery, TelegramUpdate
from apps.delivery.webhooks.models import WebhookDelivery, WebhookEndpoint

__all__ = [
    "TelegramChannel",
    "TelegramChat",
    "TelegramDelivery",
    "TelegramUpdate",
    "WebhookDelivery",
    "WebhookEndpoint",
]
