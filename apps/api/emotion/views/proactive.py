"""``/proactive/{id}`` (pending actions) and ``/proactive/{id}/preferences``."""

from rest_framework.response import Response

from apps.api.emotion import presenters
from apps.api.emotion.serializers import ProactivePreferencesInput
from apps.api.emotion.views.base import EmotionApiView
from apps.api.shared.validation import json_object, validated
from apps.personas import services


class ProactiveActionsApi(EmotionApiView):
    def get(self, request, session_id: str):
        actions = services.persona_proactive_check(app=request.user, session_id=session_id)
        return Response([presenters.proactive_action(action) for action in actions])


class ProactivePreferencesApi(EmotionApiView):
    def put(self, request, session_id: str):
        data = validated(ProactivePreferencesInput, json_object(request.data))
        session = services.persona_proactive_preferences_update(
            app=request.user, session_id=session_id, enabled=data.get("enabled"), triggers=data.get("triggers")
        )
        return Response({"sessionId": session.id, **presenters.proactive_preferences(session)})
