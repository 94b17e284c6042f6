"""The delivery app's read door for other apps and surfaces: what crosses every push path (the streams'
channel-layer groups, a session's push routes, the deliveries of events on every channel) and the webhook
reads (``webhooks.selectors``). Telegram keeps a door of its own (``telegram.selectors``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from apps.delivery.realtime import persona_group, session_group
from apps.delivery.routes import session_push_routes
from apps.delivery.telegram.selectors import telegram_deliveries_for_events
from apps.delivery.webhooks.selectors import (
    persona_scope,
    webhook_deliveries_for_events,
    webhook_endpoint_get,
    webhook_endpoint_list,
    webhook_oldest_pending_created_at,
)

if TYPE_CHECKING:
    from apps.accounts.models import App

__all__ = [
    "deliveries_for_events",
    "persona_group",
    "persona_scope",
    "session_group",
    "session_push_routes",
    "webhook_endpoint_get",
    "webhook_endpoint_list",
    "webhook_oldest_pending_created_at",
]


def deliveries_for_events(*, app: App, event_ids: list[str]) -> dict[str, list[dict]]:
    """Per event id, its rows on every push channel within the app: webhook endpoints, then Telegram bots."""
    found = webhook_deliveries_for_events(app_id=app.id, event_ids=event_ids)
    for event_id, rows in telegram_deliveries_for_events(app=app, event_ids=event_ids).items():
        found.setdefault(event_id, []).extend(rows)
    return found
