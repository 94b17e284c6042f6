"""Agents (``agents``, ``agents/{id}``): an agent is a character of the app, published like one, with an
avatar drawn from its appearance prompt by the image model it names (its identity asset).

The app's built-in assistant (what a conversation without an agent talks to) is not listed.
"""

from rest_framework.response import Response

from apps.api.shared.validation import json_object, validated
from apps.api.studio import presenters
from apps.api.studio.serializers import AgentInput, ListQuery
from apps.api.studio.views.base import StudioApiView
from apps.assets import selectors as assets_selectors
from apps.characters import selectors as characters_selectors
from apps.characters.services import ASSISTANT_SLUG
from apps.conversations import services as conversations_services


class AgentCollectionApi(StudioApiView):
    def get(self, request):
        query = validated(ListQuery, request.query_params)
        characters = list(
            characters_selectors.character_list(app=request.user)
            .exclude(slug=ASSISTANT_SLUG)
            .order_by("-created_at", "-id")[: query["limit"]]
        )
        identities = assets_selectors.identity_assets(character_ids=[character.pk for character in characters])
        return Response([presenters.agent(character, identities.get(character.pk)) for character in characters])

    def post(self, request):
        data = validated(AgentInput, json_object(request.data))
        appearance = data["appearance_prompt"].strip()
        if data.get("age") is not None:
            appearance = f"{data['age']} years old, {appearance}" if appearance else f"{data['age']} years old"
        content = presenters.agent_content(
            name=data["name"],
            appearance=appearance,
            personality=data["personality_prompt"],
            description=data["description"],
        )
        character, avatar = conversations_services.character_create_with_avatar(
            app=request.user, data=content, looks=appearance or data["name"], image_model=data["sd_model_id"]
        )
        character = characters_selectors.character_get_by_id(app=request.user, character_id=character.pk)
        return Response(presenters.agent(character, avatar), status=201)


class AgentDetailApi(StudioApiView):
    def get(self, request, agent_id: str):
        character = characters_selectors.character_get_by_id(app=request.user, character_id=agent_id)
        if character.slug == ASSISTANT_SLUG:
            return Response({"error": f"No agent with id '{agent_id}'."}, status=404)
        identity = assets_selectors.identity_assets(character_ids=[character.pk]).get(character.pk)
        return Response(presenters.agent(character, identity))
