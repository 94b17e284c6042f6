"""Registering, removing, and (by an operator's hand) disabling and enabling webhook endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q

from apps.conversations import selectors as conversation_selectors
from apps.core import clock
from apps.delivery.routes import PUSH_ROUTES
from apps.delivery.webhooks import selectors
from apps.delivery.webhooks.models import WebhookDelivery, WebhookEndpoint
from apps.delivery.webhooks.network import url_vet
from apps.delivery.webhooks.services.deliveries import endpoint_disable
from apps.delivery.webhooks.signing import secret_generate, secret_validate

if TYPE_CHECKING:
    from apps.accounts.models import App


def webhook_endpoint_create(
    *,
    app: App,
    url: str,
    secret: str | None = None,
    session_id: str | None = None,
    scope: str = "",
    event_types: list[str] | None = None,
) -> WebhookEndpoint:
    """Register ``url`` for one session's events (``session_id``), the app's (neither) or a producer's ``scope``.

    The URL passes the SSRF guard now and again on every send. Without ``secret`` one is generated
    (``whsec_`` + base64 of 32 random bytes); the caller shows it once. Raises SessionNotFound for
    another app's session and WebhookUrl*/WebhookSecretInvalid (422) before writing anything.
    """
    assert not (session_id and scope), "an endpoint has one scope"
    session = conversation_selectors.session_get(app=app, session_id=session_id) if session_id else None
    vetted = url_vet(url)
    secret = secret_validate(secret) if secret is not None else secret_generate()
    # One transaction with the routes' bump: when Redis is down the bump fails and the endpoint is not kept,
    # rather than kept while processes go on routing from a cache that does not know it.
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            app=app, session=session, scope=scope, url=vetted.url, secret=secret, event_types=list(event_types or [])
        )
        PUSH_ROUTES.bump()
    return endpoint


def webhook_endpoint_delete(
    *, app: App, endpoint_id: str, session_id: str | None = None, scope: str = ""
) -> WebhookEndpoint:
    """Stop sending to the endpoint; its delivery history stays for the trace. Raises WebhookEndpointNotFound."""
    with transaction.atomic():
        endpoint = selectors.webhook_endpoint_get(
            app=app, endpoint_id=endpoint_id, session_id=session_id, scope=scope, lock=True
        )
        endpoint.status = WebhookEndpoint.Status.DELETED
        endpoint.save(update_fields=["status", "updated_at"])
        PUSH_ROUTES.bump()
        WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING).update(
            status=WebhookDelivery.Status.CANCELLED, next_attempt_at=None, last_error="endpoint_deleted"
        )
    return endpoint


def scope_webhook_endpoints_delete(*, app_id: str, scope: str) -> int:
    """Stop every endpoint of a producer scope (a deleted persona session's webhooks), cancelling their pending
    deliveries, in the caller's transaction; returns how many there were."""
    with transaction.atomic():
        endpoint_ids = list(
            WebhookEndpoint.objects.select_for_update()
            .filter(app_id=app_id, session__isnull=True, scope=scope, status__in=selectors.VISIBLE_STATUSES)
            .values_list("pk", flat=True)
        )
        if not endpoint_ids:
            return 0
        WebhookEndpoint.objects.filter(pk__in=endpoint_ids).update(status=WebhookEndpoint.Status.DELETED)
        PUSH_ROUTES.bump()
        WebhookDelivery.objects.filter(endpoint_id__in=endpoint_ids, status=WebhookDelivery.Status.PENDING).update(
            status=WebhookDelivery.Status.CANCELLED, next_attempt_at=None, last_error="endpoint_deleted"
        )
    return len(endpoint_ids)


OPERATOR_DISABLED = "operator"


def webhook_endpoint_disable(*, endpoint_id: str) -> bool:
    """Stop sending to an active endpoint by an operator's hand (the admin), the way the sender stops a failing
    one: pending rows cancelled, routes bumped, ``webhook.endpoint_disabled`` in a session endpoint's log.
    Returns False when the endpoint was not active (nothing is written)."""
    return endpoint_disable(
        endpoint_id=endpoint_id,
        reason=OPERATOR_DISABLED,
        detail="An operator disabled the endpoint; it sends again once enabled.",
    )


def webhook_endpoint_enable(*, endpoint_id: str) -> bool:
    """Send to a disabled endpoint again, with a clean failure record (the receiver is taken to be fixed).
    Its cancelled rows stay cancelled until re-sent. Returns False when it was not disabled (a deleted
    endpoint stays deleted; an active one is left alone)."""
    with transaction.atomic():
        enabled = WebhookEndpoint.objects.filter(id=endpoint_id, status=WebhookEndpoint.Status.DISABLED).update(
            status=WebhookEndpoint.Status.ACTIVE,
            disabled_reason="",
            disabled_at=None,
            consecutive_failures=0,
            failing_since=None,
            updated_at=clock.now(),
        )
        if enabled:
            PUSH_ROUTES.bump()
    return bool(enabled)


def webhook_rows_erase(*, app: App, session_ids: list[str], scopes: list[str]) -> dict[str, int]:
    """Delete an end-user's webhook rows (a GDPR erasure), in the caller's transaction: the endpoints of the
    sessions ``session_ids`` and of the producer ``scopes`` (their emotion sessions), with all their deliveries,
    and the deliveries of the app's other endpoints whose body carries an event of those sessions. The bodies
    snapshot the events' text, so they go even when delivered. Returns the counts of ``webhook_endpoints`` and
    ``webhook_deliveries``."""
    with transaction.atomic():
        endpoints = WebhookEndpoint.objects.filter(Q(session_id__in=session_ids) | Q(scope__in=scopes), app=app)
        _, by_endpoint = endpoints.delete()
        _, carried = WebhookDelivery.objects.filter(endpoint__app=app, body__event__session_id__in=session_ids).delete()
        removed = by_endpoint.get(WebhookEndpoint._meta.label, 0)
        if removed:
            PUSH_ROUTES.bump()
    label = WebhookDelivery._meta.label
    return {"webhook_endpoints": removed, "webhook_deliveries": by_endpoint.get(label, 0) + carried.get(label, 0)}
