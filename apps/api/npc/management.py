"""Persona management under ``/npc/api/v1/``: list, read, export (``/full``), delete, and ``creator/save``
(create, or replace with ``?persona_id=``). The same API keys as ``X-API-Key`` or ``Authorization: Bearer``.
Another app's public persona can be read, not changed (403); its private one looks absent (404)."""

from rest_framework.response import Response

from apps.api.npc import presenters
from apps.api.npc.authentication import XApiKeyAuthentication
from apps.api.npc.serializers import PersonaListQuery, SaveQuery
from apps.api.npc.views import NpcApiView
from apps.api.shared.authentication import ApiKeyAuthentication
from apps.api.shared.validation import json_object, validated
from apps.npcs import selectors as npcs_selectors
from apps.npcs import services as npcs_services


class ManagementApiView(NpcApiView):
    authentication_classes = [XApiKeyAuthentication, ApiKeyAuthentication]


class PersonaCollectionApi(ManagementApiView):
    def get(self, request):
        query = validated(PersonaListQuery, request.query_params)
        npcs = npcs_selectors.npc_list(
            app=request.user, public_only=query["public_only"], mine_only=query["my_personas"], limit=query["limit"]
        )
        return Response([presenters.persona_detail(npc) for npc in npcs])


class PersonaDetailApi(ManagementApiView):
    def get(self, request, persona_id: str):
        return Response(presenters.persona_detail(npcs_selectors.npc_get(app=request.user, npc_id=persona_id)))

    def delete(self, request, persona_id: str):
        npcs_services.npc_delete(app=request.user, npc_id=persona_id)
        return Response({"persona_id": persona_id, "deleted": True})


class PersonaFullApi(ManagementApiView):
    def get(self, request, persona_id: str):
        return Response(npcs_selectors.npc_full(app=request.user, npc_id=persona_id))


class CreatorSaveApi(ManagementApiView):
    def post(self, request):
        query = validated(SaveQuery, request.query_params)
        npc = npcs_services.npc_save(app=request.user, body=json_object(request.data), npc_id=query.get("persona_id"))
        full = npcs_selectors.npc_full(app=request.user, npc_id=npc.id)
        return Response({"persona_id": npc.id, **full}, status=200 if query.get("persona_id") else 201)
