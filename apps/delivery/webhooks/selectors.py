"""Reads of webhook endpoints and their deliveries, scoped to the asking app where a caller names ids."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import F

from apps.core import clock
from apps.delivery.routes import PUSH_ROUTES, session_push_routes
from apps.delivery.webhooks.errors import WebhookEndpointNotFound
from apps.delivery.webhooks.models import WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from datetime import datetime

    from apps.accounts.models import App

VISIBLE_STATUSES = [WebhookEndpoint.Status.ACTIVE, WebhookEndpoint.Status.DISABLED]


def _scoped(*, app: App, session_id: str | None, scope: str = ""):
    endpoints = WebhookEndpoint.objects.filter(app=app, status__in=VISIBLE_STATUSES)
    if session_id is not None:
        return endpoints.filter(session_id=session_id)
    return endpoints.filter(session__isnull=True, scope=scope)


def persona_scope(session_id: str) -> str:
    """The endpoint scope of one persona session's molroo webhooks (the emotion surface's ``/webhook/{id}``)."""
    return f"persona:{session_id}"


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


def webhook_deliveries_for_events(*, app_id: str, event_ids: list[str]) -> dict[str, list[dict]]:
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


def webhook_oldest_pending_created_at() -> datetime | None:
    """When the oldest delivery still to send (across every app) was written: the operators' lag gauge."""
    return (
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
