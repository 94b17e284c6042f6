"""Webhook channels: per session (``/v1/sessions/{id}/channels``) and app-wide (``/v1/webhook-endpoints``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from apps.api.native.envelope import action, envelope
from apps.api.native.serializers import (
    AUTH_ERRORS,
    BODY_ERRORS,
    ChannelCreatedOutput,
    ChannelDeletedOutput,
    ChannelInput,
    ChannelListOutput,
    ChannelOutput,
    enveloped,
)
from apps.api.shared.validation import validated
from apps.conversations import selectors as conversation_selectors
from apps.delivery.webhooks import selectors, services

if TYPE_CHECKING:
    from apps.delivery.webhooks.models import WebhookEndpoint

DOCS = "docs/integrators/webhooks.md"


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def channel_data(endpoint: WebhookEndpoint) -> dict:
    return {
        "channel_id": endpoint.id,
        "kind": "webhook",
        "scope": "session" if endpoint.session_id else "app",
        "session_id": endpoint.session_id,
        "url": endpoint.url,
        "event_types": endpoint.event_types,
        "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason or None,
        "disabled_at": _iso(endpoint.disabled_at),
        "consecutive_failures": endpoint.consecutive_failures,
        "last_success_at": _iso(endpoint.last_success_at),
        "created_at": _iso(endpoint.created_at),
    }


def _created(endpoint: WebhookEndpoint, data: dict, list_command: str):
    body = channel_data(endpoint)
    if "secret" not in data:
        body["signing_secret"] = endpoint.secret
    return envelope(
        body,
        [
            action(list_command, "List the webhook channels"),
            action(f"read {DOCS}", "Verify both signatures; deduplicate on x-auto-dating-event-id / webhook-id"),
        ],
        status=201,
    )


class SessionChannelCollectionApi(APIView):
    @extend_schema(
        operation_id="channel_create",
        request=ChannelInput,
        responses={201: enveloped("ChannelCreatedEnvelope", ChannelCreatedOutput), **BODY_ERRORS, **AUTH_ERRORS},
        description="Register a signed webhook for this session's events.",
    )
    def post(self, request, session_id: str):
        data = validated(ChannelInput, request.data)
        endpoint = services.webhook_endpoint_create(
            app=request.user,
            session_id=session_id,
            url=data["url"],
            secret=data.get("secret"),
            event_types=data.get("event_types"),
        )
        return _created(endpoint, data, f"GET /v1/sessions/{session_id}/channels")

    @extend_schema(
        operation_id="channel_list", responses={200: enveloped("ChannelListEnvelope", ChannelListOutput), **AUTH_ERRORS}
    )
    def get(self, request, session_id: str):
        session = conversation_selectors.session_get(app=request.user, session_id=session_id)
        endpoints = selectors.webhook_endpoint_list(app=request.user, session_id=session.id)
        return envelope(
            {"channels": [channel_data(endpoint) for endpoint in endpoints]},
            [action(f'POST /v1/sessions/{session_id}/channels {{"url": "https://..."}}', "Register a webhook")],
        )


class SessionChannelDetailApi(APIView):
    @extend_schema(
        operation_id="channel_delete",
        request=None,
        responses={200: enveloped("ChannelDeletedEnvelope", ChannelDeletedOutput), **AUTH_ERRORS},
        description="Stop sending to this webhook; pending deliveries are cancelled.",
    )
    def delete(self, request, session_id: str, webhook_id: str):
        session = conversation_selectors.session_get(app=request.user, session_id=session_id)
        services.webhook_endpoint_delete(app=request.user, endpoint_id=webhook_id, session_id=session.id)
        return envelope(
            {"channel_id": webhook_id, "deleted": True},
            [action(f"GET /v1/sessions/{session_id}/channels", "List the remaining channels")],
        )


class WebhookEndpointCollectionApi(APIView):
    @extend_schema(
        operation_id="webhook_endpoint_create",
        request=ChannelInput,
        responses={
            201: enveloped("WebhookEndpointCreatedEnvelope", ChannelCreatedOutput),
            **BODY_ERRORS,
            **AUTH_ERRORS,
        },
        description="Register a signed webhook that receives every session's events of this app.",
    )
    def post(self, request):
        data = validated(ChannelInput, request.data)
        endpoint = services.webhook_endpoint_create(
            app=request.user, url=data["url"], secret=data.get("secret"), event_types=data.get("event_types")
        )
        return _created(endpoint, data, "GET /v1/webhook-endpoints")

    @extend_schema(
        operation_id="webhook_endpoint_list",
        responses={200: enveloped("WebhookEndpointListEnvelope", ChannelListOutput), **AUTH_ERRORS},
    )
    def get(self, request):
        endpoints = selectors.webhook_endpoint_list(app=request.user)
        return envelope(
            {"channels": [channel_data(endpoint) for endpoint in endpoints]},
            [action('POST /v1/webhook-endpoints {"url": "https://..."}', "Register an app-wide webhook")],
        )


class WebhookEndpointDetailApi(APIView):
    @extend_schema(
        operation_id="webhook_endpoint_get",
        responses={200: enveloped("WebhookEndpointEnvelope", ChannelOutput), **AUTH_ERRORS},
    )
    def get(self, request, endpoint_id: str):
        endpoint = selectors.webhook_endpoint_get(app=request.user, endpoint_id=endpoint_id)
        return envelope(channel_data(endpoint), [action("GET /v1/webhook-endpoints", "List the app's webhooks")])

    @extend_schema(
        operation_id="webhook_endpoint_delete",
        request=None,
        responses={200: enveloped("WebhookEndpointDeletedEnvelope", ChannelDeletedOutput), **AUTH_ERRORS},
    )
    def delete(self, request, endpoint_id: str):
        services.webhook_endpoint_delete(app=request.user, endpoint_id=endpoint_id)
        return envelope(
            {"channel_id": endpoint_id, "deleted": True},
            [action("GET /v1/webhook-endpoints", "List the remaining webhooks")],
        )
