"""Writes and workflows of Telegram channels, one topic per module: ``channels`` (connect, verify,
disconnect a bot), ``inbound`` (updates in, as messages), ``outbound`` (events out, in order per chat)."""

from apps.delivery.telegram.services.channels import (
    telegram_channel_connect,
    telegram_channel_delete,
    telegram_channel_verify,
    telegram_chats_erase,
)
from apps.delivery.telegram.services.inbound import telegram_channel_authenticate, telegram_update_receive
from apps.delivery.telegram.services.outbound import (
    telegram_chat_drain,
    telegram_chat_scan,
    telegram_chats_due,
    telegram_deliveries_resend,
    telegram_updates_purge,
)

__all__ = [
    "telegram_channel_authenticate",
    "telegram_channel_connect",
    "telegram_channel_delete",
    "telegram_channel_verify",
    "telegram_chat_drain",
    "telegram_chat_scan",
    "telegram_chats_erase",
    "telegram_chats_due",
    "telegram_deliveries_resend",
    "telegram_update_receive",
    "telegram_updates_purge",
]
