"""Registering and removing webhook endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from apps.conversations import selectors as conversation_selectors
from apps.delivery.routes import PUSH_ROUTES
from apps.delivery.webhooks import selectors
from apps.delivery.webhooks.models import WebhookDelivery, WebhookEndpoint
from apps.delivery.webhooks.network import url_vet
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
