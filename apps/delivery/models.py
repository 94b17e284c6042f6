"""Models of the delivery app, one topic module each."""

from apps.delivery.telegram.models import TelegramChannel, TelegramChat, TelegramDelivery, TelegramUpdate

__all__ = ["TelegramChannel", "TelegramChat", "TelegramDelivery", "TelegramUpdate"]
