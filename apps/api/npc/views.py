"""The SDK routes under ``/npc/api/v1/sdk/``: published personas, and a player's session with one persona
(init-session, message, message/stream, session, history, reset, machines); and the surface's OpenAPI document."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.npc import byok, openapi, presenters, streams
from apps.api.npc.authentication import XApiKeyAuthentication
from apps.api.npc.errors import npc_exception_handler
from apps.api.npc.serializers import InitSessionInput, MachineQuery, MessageInput, PlayerQuery
from apps.api.shared.authentication import HasApp
from apps.api.shared.sse import EventStreamRenderer, stream_slot
from apps.api.shared.validation import json_object, validated
from apps.conversations import selectors as conversations_selectors
from apps.conversations import services as conversations_services
from apps.npcs import selectors as npcs_selectors

PERSONAS_LIMIT = 100


@require_GET
def openapi_json(request) -> JsonResponse:
    """``GET /npc/api/v1/openapi.json``: the surface's OpenAPI document (public, like the other surfaces')."""
    return JsonResponse(openapi.openapi_document())


class NpcApiView(APIView):
    authentication_classes = [XApiKeyAuthentication]
    permission_classes = [HasApp]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]

    def get_exception_handler(self):
        return npc_exception_handler


class PersonaListApi(NpcApiView):
    def get(self, request):
        npcs = npcs_selectors.npc_list(app=request.user, mine_only=True, published_only=True, limit=PERSONAS_LIMIT)
        return Response([presenters.persona(npc) for npc in npcs])


class InitSessionApi(NpcApiView):
    def post(self, request, persona_id: str):
        data = validated(InitSessionInput, json_object(request.data))
        query = validated(MachineQuery, request.query_params)
        opened = conversations_services.npc_session_start(
            app=request.user,
            npc_id=persona_id,
            player_session_id=data["user_session_id"],
            player_name=data["player_name"],
            player_gender=data["player_gender"],
            machine_id=query.get("machine_id"),
        )
        return Response(presenters.session_init(opened))


class MessageApi(NpcApiView):
    def post(self, request, persona_id: str):
        data = validated(MessageInput, json_object(request.data))
        query = validated(MachineQuery, request.query_params)
        turn = conversations_services.npc_message_send(
            app=request.user,
            npc_id=persona_id,
            player_session_id=data["user_session_id"],
            text=data["message"],
            machine_id=query.get("machine_id"),
            overrides=byok.call_overrides(request),
        )
        return Response(presenters.chat_response(turn))


class MessageStreamApi(NpcApiView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    def post(self, request, persona_id: str):
        data = validated(MessageInput, json_object(request.data))
        query = validated(MachineQuery, request.query_params)
        with stream_slot(request) as slot:
            stream = conversations_services.npc_message_stream(
                app=request.user,
                npc_id=persona_id,
                player_session_id=data["user_session_id"],
                text=data["message"],
                machine_id=query.get("machine_id"),
                overrides=byok.call_overrides(request),
            )
            return streams.sse_response(request, stream, slot=slot)


def _playthrough(request, persona_id: str):
    query = validated(PlayerQuery, request.query_params)
    playthrough = npcs_selectors.playthrough_get(
        app=request.user,
        npc_id=persona_id,
        player_session_id=query["user_session_id"],
        machine_id=query.get("machine_id"),
    )
    return playthrough, conversations_selectors.npc_session_latest(playthrough_id=playthrough.id)


class SessionApi(NpcApiView):
    def get(self, request, persona_id: str):
        playthrough, session = _playthrough(request, persona_id)
        return Response(presenters.session_status(playthrough, session))


class HistoryApi(NpcApiView):
    def get(self, request, persona_id: str):
        playthrough, session = _playthrough(request, persona_id)
        events = conversations_selectors.npc_messages(session_id=session.id) if session is not None else []
        return Response(presenters.chat_history(playthrough, session, events))


class ResetApi(NpcApiView):
    def post(self, request, persona_id: str):
        query = validated(PlayerQuery, request.query_params)
        opened = conversations_services.npc_session_reset(
            app=request.user,
            npc_id=persona_id,
            player_session_id=query["user_session_id"],
            machine_id=query.get("machine_id"),
        )
        return Response(presenters.reset_result(opened))


class MachineListApi(NpcApiView):
    def get(self, request, persona_id: str):
        query = validated(PlayerQuery, request.query_params)
        rows = npcs_selectors.player_machines(
            app=request.user, npc_id=persona_id, player_session_id=query["user_session_id"]
        )
        return Response([presenters.machine_info(row.machine, row.playthrough, row.is_linked) for row in rows])
