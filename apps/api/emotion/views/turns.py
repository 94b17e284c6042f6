"""``/turn`` (simple and full forms), ``/turn/appraisal`` and ``/state/{id}``."""

from rest_framework.response import Response

from apps.api.emotion import presenters
from apps.api.emotion.serializers import AppraisalTurnInput, TurnInput
from apps.api.emotion.views.base import EmotionApiView
from apps.api.shared.validation import json_object, validated
from apps.personas import selectors, services


class TurnApi(EmotionApiView):
    def post(self, request):
        data = validated(TurnInput, json_object(request.data))
        event = data.get("event")
        result = services.persona_turn(
            app=request.user,
            session_id=data["sessionId"],
            user_ref=data.get("userId", ""),
            message=event["description"] if event else data["message"],
            source=event["source"] if event else "user",
            elapsed_seconds=data.get("elapsedSeconds"),
            context=data.get("event_context", ""),
        )
        return Response(presenters.turn_result(result))


class AppraisalTurnApi(EmotionApiView):
    def post(self, request):
        data = validated(AppraisalTurnInput, json_object(request.data))
        result = services.persona_turn(
            app=request.user,
            session_id=data["sessionId"],
            user_ref=data.get("userId", ""),
            appraisal=data["appraisal"],
            elapsed_seconds=data.get("elapsedSeconds"),
            context=data.get("context", ""),
        )
        return Response(presenters.turn_result(result))


class StateApi(EmotionApiView):
    def get(self, request, session_id: str):
        return Response(selectors.persona_state(app=request.user, session_id=session_id))
