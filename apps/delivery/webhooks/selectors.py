"""Reads for delivery, scoped to the asking app where a caller names ids."""

from dataclasses import dataclass

from django.db.models import F, Q, Subquery

from apps.accounts.models import App
from apps.core import clock
from apps.core.generations import Generation
from apps.delivery.errors import WebhookEndpointNotFound
from apps.delivery.models import TelegramChat, WebhookDelivery, WebhookEndpoint

_VISIBLE = [WebhookEndpoint.Status.ACTIVE, WebhookEndpoint.Status.DISABLED]


def _scoped(*, app: App, session_id: str | None, scope: str = ""):
    endpoints = WebhookEndpoint.objects.filter(app=app, status__in=_VISIBLE)
    if session_id is not None:
        return endpoints.filter(session_id=session_id)
    return endpoints.filter(session__isnull=True, scope=scope)


def webhook_endpoint_list(*, app: App, session_id: str | None = None, scope: str = "") -> list[WebhookEndpoint]:
    """The session's endpoints, or (no ``session_id``) the app-level ones, or a producer scope's; newest first."""
    return list(_scoped(app=app, session_id=session_id, scope=scope).order_by("-created_at", "-id"))


def webhook_endpoint_get(
    *, app: App, endpoint_id: str, session_id: str | None = None, scope: str = "", lock: bool = False
) -> WebhookEndpoint:
    """Raises WebhookEndpointNotFound for unknown, deleted, other apps' and other scopes' endpoints."""
    endpoints = _scoped(app=app, session_id=session_id, scope=scope)
    if lock:
        endpoints = endpoints.select_for_update()
    endpoint = endpoints.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise WebhookEndpointNotFound(f"No webhook channel with id '{endpoint_id}'.")
    return endpoint


# Where each session's events are pushed besides its streams (the webhook endpoints that take them and the
# Telegram chats bound to it), cached for every process: both sinks ask on every append, and the answer
# changes only when an endpoint is registered, deleted or disabled or a chat is bound or its channel
# deleted; those services bump it.
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
    app_of_session = Subquery(App.objects.filter(sessions=session_id).order_by().values("pk")[:1])
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


def _scope_push_routes(app_id: str, scope: str) -> list[tuple[str, list[str]]]:
    endpoints = WebhookEndpoint.objects.filter(app_id=app_id, scope=scope, status=WebhookEndpoint.Status.ACTIVE)
    return list(endpoints.order_by().values_list("id", "event_types"))


def scope_push_routes(*, app_id: str, scope: str) -> list[tuple[str, list[str]]]:
    """The active endpoints of a producer ``scope`` (e.g. one molroo persona session's webhooks) as (endpoint
    id, event types it takes; empty: all), from the shared cache that every endpoint change invalidates: an
    emotion turn asks on every stage transition or overflow, and almost no scope has an endpoint."""
    return PUSH_ROUTES.get(lambda: _scope_push_routes(app_id, scope), key=f"scope:{app_id}:{scope}")


def endpoints_for_session_events(*, session_id: str) -> list[WebhookEndpoint]:
    """Active endpoints that take a native session's events: its own and its app's app-level ones (only their
    ids and event filters loaded)."""
    return session_push_routes(session_id=session_id).endpoints()


def endpoints_for_sessions_events(*, session_ids: list[str]) -> dict[str, list[WebhookEndpoint]]:
    """``endpoints_for_session_events`` for many sessions in one statement (a batch's fan-out): per session id,
    its own active endpoints and its app's app-level ones (each endpoint annotated ``target_session_id``)."""
    active = WebhookEndpoint.objects.filter(status=WebhookEndpoint.Status.ACTIVE).only("id", "event_types").order_by()
    own = active.filter(session_id__in=session_ids).annotate(target_session_id=F("session_id"))
    app_level = active.filter(session__isnull=True, scope="", app__sessions__in=session_ids).annotate(
        target_session_id=F("app__sessions__id")
    )
    found: dict[str, list[WebhookEndpoint]] = {session_id: [] for session_id in session_ids}
    for endpoint in own.union(app_level, all=True).order_by():
        found[endpoint.target_session_id].append(endpoint)
    return found


def deliveries_for_events(*, app_id: str, event_ids: list[str]) -> dict[str, list[dict]]:
    """Per event id, its webhook deliveries within the app (oldest endpoint first); events without any are absent."""
    found: dict[str, list[dict]] = {}
    rows = (
        WebhookDelivery.objects.filter(event_id__in=list(event_ids), endpoint__app_id=app_id)
        .order_by("id")
        .values("event_id", "endpoint_id", "status", "attempts", "last_status_code", "delivered_at")
    )
    for row in rows:
        found.setdefault(row["event_id"], []).append(
            {
                "channel_id": row["endpoint_id"],
                "kind": "webhook",
                "status": row["status"],
                "attempts": row["attempts"],
                "last_status_code": row["last_status_code"],
                "delivered_at": row["delivered_at"],
            }
        )
    return found


def webhook_deliveries_due(*, limit: int) -> list[int]:
    """Ids of pending rows whose next attempt is due, oldest first (the partial index ``webhook_delivery_due``)."""
    return list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=clock.now())
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
