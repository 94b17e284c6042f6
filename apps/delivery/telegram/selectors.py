"""Reads for Telegram channels, always scoped to the asking app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from apps.delivery.routes import session_push_routes
from apps.delivery.telegram.errors import TelegramChannelNotFound
from apps.delivery.telegram.models import TelegramChannel, TelegramChat, TelegramDelivery

if TYPE_CHECKING:
    from apps.accounts.models import App


def chats_for_sessions(*, session_ids: list[str]) -> list[int]:
    """The bound chats of these sessions (what the sink kicks); one session's from the push routes' cache."""
    if len(session_ids) == 1:
        return session_push_routes(session_id=session_ids[0]).chats
    return list(TelegramChat.objects.filter(session_id__in=session_ids).values_list("pk", flat=True))


def telegram_channel_list(*, app: App) -> QuerySet[TelegramChannel]:
    return TelegramChannel.objects.filter(app=app).select_related("default_character").order_by("-created_at", "-id")


def telegram_channel_get(*, app: App, channel_id: str) -> TelegramChannel:
    """Raises TelegramChannelNotFound for unknown ids and for another app's channels."""
    channel = TelegramChannel.objects.select_related("default_character").filter(app=app, pk=channel_id).first()
    if channel is None:
        raise TelegramChannelNotFound(f"No delivery channel with id '{channel_id}'.")
    return channel


def telegram_deliveries_for_events(*, app: App, event_ids: list[str]) -> dict[str, list[dict]]:
    """Telegram delivery status per event (for a session trace), in the shape webhook deliveries use."""
    rows = TelegramDelivery.objects.filter(channel__app=app, event_id__in=event_ids).order_by("id")
    found: dict[str, list[dict]] = {}
    for row in rows:
        found.setdefault(row.event_id, []).append(
            {
                "channel_id": row.channel_id,
                "kind": "telegram",
                "status": row.status,
                "attempts": row.attempts,
                "last_status_code": row.last_status_code,
                "delivered_at": row.delivered_at,
            }
        )
    return found
