"""Conversations (``conversations``, ``conversations/{id}``) and their messages
(``conversations/{id}/messages``).

A conversation is a ``conversations.Session``: its messages are the session's event log, so the native
event stream, webhooks and the admin see it like any other session. Each conversation is its own end-user
(``studio:<random>``), so what a character remembers never crosses from one conversation to another.
"""

import secrets

from rest_framework.response import Response

from apps.api.shared.sse import EventStreamRenderer, sse_response, stream_slot
from apps.api.shared.validation import json_object, validated
from apps.api.studio import presenters, streams
from apps.api.studio.serializers import ConversationInput, ListQuery, MessageInput
from apps.api.studio.views.base import StudioApiView
from apps.characters import selectors as characters_selectors
from apps.conversations import selectors as conversations_selectors
from apps.conversations import services as conversations_services

TRANSCRIPT_LIMIT = 1000  # the newest messages a list returns


class ConversationCollectionApi(StudioApiView):
    def get(self, request):
        query = validated(ListQuery, request.query_params)
        sessions = conversations_selectors.session_list_with_last_message(app=request.user, limit=query["limit"])
        return Response([presenters.conversation(session) for session in sessions])

    def post(self, request):
        data = validated(ConversationInput, json_object(request.data))
        slug = None  # no agent: the app's built-in assistant
        if data.get("agent_id"):
            slug = characters_selectors.character_get_by_id(app=request.user, character_id=data["agent_id"]).slug
        messages = [
            conversations_services.TranscriptMessage("user" if item["role"] == "user" else "character", item["content"])
            for item in data["messages"]
        ]
        session = conversations_services.session_create_with_transcript(
            app=request.user,
            character_slug=slug,
            external_user_ref=f"studio:{secrets.token_hex(8)}",
            messages=messages,
            title=data["title"],
            system_prompt=data["system_prompt"],
            model=data["llm_id"] or "",
        )
        session = conversations_selectors.session_get_with_last_message(app=request.user, session_id=session.id)
        return Response(presenters.conversation(session), status=201)


class ConversationDetailApi(StudioApiView):
    def get(self, request, conversation_id: str):
        session = conversations_selectors.session_get_with_last_message(app=request.user, session_id=conversation_id)
        return Response(presenters.conversation(session))


class MessageCollectionApi(StudioApiView):
    renderer_classes = [*StudioApiView.renderer_classes, EventStreamRenderer]

    def get(self, request, conversation_id: str):
        events = conversations_selectors.session_transcript(
            app=request.user, session_id=conversation_id, limit=TRANSCRIPT_LIMIT
        )
        return Response(presenters.messages(events))

    def post(self, request, conversation_id: str):
        data = validated(MessageInput, json_object(request.data))
        slot = stream_slot(request, wanted=data["stream"])
        with slot:
            turn = conversations_services.message_turn(
                app=request.user,
                session_id=conversation_id,
                text=data["content"],
                model=data["llm_id"] or "",
                trace=data["verbose"],
            )
        verbose = data["verbose"]

        def answer() -> dict:
            return presenters.reply(turn.reply, turn.trace if verbose else None)

        if data["stream"]:
            return sse_response(request, streams.reply_frames(turn, answer), slot=slot)
        turn.run()
        return Response(answer(), status=201)
