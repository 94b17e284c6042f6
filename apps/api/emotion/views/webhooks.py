"""``/webhook/{sessionId}``: register (POST) and list (GET) a session's webhooks.

A registration is a delivery-app webhook endpoint in the producer scope ``persona:<sessionId>``: it
receives only this session's ``proactive_action``, ``emotional_overflow`` and ``stage_transition`` events,
signed and retried like every other webhook of the platform.
"""

from rest_framework.response import Response

from apps.api.emotion import presenters
from apps.api.emotion.serializers import WebhookInput
from apps.api.emotion.views.base import EmotionApiView
from apps.api.shared.validation import json_object, validated
from apps.delivery.webhooks import selectors as webhook_selectors
from apps.delivery.webhooks import services as webhook_services
from apps.personas import selectors


class WebhookCollectionApi(EmotionApiView):
    def post(self, request, session_id: str):
        data = validated(WebhookInput, json_object(request.data))
        session = selectors.persona_session_get(app=request.user, session_id=session_id)
        endpoint = webhook_services.webhook_endpoint_create(
            app=request.user,
            url=data["url"],
            secret=data["secret"],
            scope=webhook_selectors.persona_scope(session.id),
            event_types=data["events"],
        )
        return Response(presenters.webhook(endpoint), status=201)

    def get(self, request, session_id: str):
        session = selectors.persona_session_get(app=request.user, session_id=session_id)
        endpoints = webhook_selectors.webhook_endpoint_list(
            app=request.user, scope=webhook_selectors.persona_scope(session.id)
        )
        return Response([presenters.webhook(endpoint) for endpoint in endpoints])
