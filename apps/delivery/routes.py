"""Where a session's events are pushed besides its streams: the webhook endpoints that take them and the
Telegram chats bound to it. Both sinks ask on every append, so the answer is cached for every process; it
changes only when an endpoint is registered, deleted or disabled or a chat is bound or its channel deleted,
and the services that do so bump ``PUSH_ROUTES``.

Shared by ``webhooks`` and ``telegram``, so it belongs to neither.
"""

from dataclasses import dataclass

from django.db.models import Q

from apps.conversations import selectors as conversation_selectors
from apps.core.generations import Generation
from apps.delivery.telegram.models import TelegramChat
from apps.delivery.webhooks.models import WebhookEndpoint

PUSH_ROUTES = Generation("push-routes")


@dataclass(frozen=True)
class PushRoutes:
    webhooks: list[tuple[str, list[str]]]  # (endpoint id, event types it takes; empty: all)
    chats: list[int]  # bound Telegram chats

    def endpoints(self) -> list[WebhookEndpoint]:
        """The webhook endpoints, as instances with only their ids and event filters."""
        return [WebhookEndpoint(id=endpoint_id, event_types=event_types) for endpoint_id, event_types in self.webhooks]


def _push_routes(session_id: str) -> PushRoutes:
    # One statement: a BitmapOr of the session and app indexes, with the app looked up once (a scalar subquery).
    app_of_session = conversation_selectors.session_app_id_subquery(session_id=session_id)
    # Only what the fan-out needs (the secret, decrypted on load, is not).
    webhooks = list(
        WebhookEndpoint.objects.filter(status=WebhookEndpoint.Status.ACTIVE)
        .filter(Q(session_id=session_id) | Q(session__isnull=True, scope="", app_id=app_of_session))
        .order_by()
        .values_list("id", "event_types")
    )
    chats = list(TelegramChat.objects.filter(session_id=session_id).values_list("pk", flat=True))
    return PushRoutes(webhooks, chats)


def session_push_routes(*, session_id: str) -> PushRoutes:
    """The session's push routes: one shared-cache round trip on the hot path (most sessions have none)."""
    return PUSH_ROUTES.get(lambda: _push_routes(session_id), key=session_id)
