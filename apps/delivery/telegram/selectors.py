"""Reads for Telegram channels, always scoped to the asking app."""

from django.db.models import QuerySet

from apps.accounts.models import App
from apps.core.generations import Generation
from apps.delivery.telegram.errors import TelegramChannelNotFound
from apps.delivery.telegram.models import TelegramChannel, TelegramChat, TelegramDelivery

# The chats bound to each session, cached for every process: the sink asks after every commit that appends
# a deliverable event, and a binding changes only when a chat is created or its channel deleted (both bump).
CHAT_ROUTES = Generation("telegram-chat-routes")


def chats_for_sessions(*, session_ids: list[str]) -> list[int]:
    """The bound chats of these sessions (what the sink kicks); one session's from the shared cache."""
    if len(session_ids) == 1:
        [session_id] = session_ids
        return CHAT_ROUTES.get(
            lambda: list(TelegramChat.objects.filter(session_id=session_id).values_list("pk", flat=True)),
            key=session_id,
        )
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
