"""``POST completions``: one stateless answer from a catalog model, optionally in an agent's persona.

Nothing is written to any conversation; the call is metered like every model call (ledger, budgets, balance).
"""

import secrets

from rest_framework.response import Response

from apps.api.shared.sse import EventStreamRenderer, sse_response, stream_slot
from apps.api.shared.validation import json_object, validated
from apps.api.studio import presenters, streams
from apps.api.studio.serializers import AGENT_ROLES, CompletionInput
from apps.api.studio.views.base import StudioApiView
from apps.characters import selectors as characters_selectors
from apps.conversations import services as conversations_services
from apps.core import clock
from apps.llm.types import ChatMessage


def _chat_messages(messages: list[dict]) -> list[ChatMessage]:
    return [
        ChatMessage("assistant" if item["role"] in AGENT_ROLES else item["role"], item["content"]) for item in messages
    ]


class CompletionApi(StudioApiView):
    renderer_classes = [*StudioApiView.renderer_classes, EventStreamRenderer]

    def post(self, request):
        data = validated(CompletionInput, json_object(request.data))
        slug = None
        if data.get("agent_id"):
            slug = characters_selectors.character_get_by_id(app=request.user, character_id=data["agent_id"]).slug
        slot = stream_slot(request, wanted=data["stream"])
        with slot:
            completion = conversations_services.completion_stream(
                app=request.user, messages=_chat_messages(data["messages"]), model=data["llm_id"], character_slug=slug
            )
        completion_id = f"cmpl_{secrets.token_hex(12)}"

        def answer() -> dict:
            text = completion.result.text
            return {"id": completion_id, "content": text, "role": "agent", "created_at": presenters.iso(clock.now())}

        if data["stream"]:
            return sse_response(request, streams.reply_frames(completion, answer), slot=slot)
        completion.run()
        return Response(answer())
