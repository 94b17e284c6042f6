"""What a character knows about a session's end-user (read, correct, erase), and a run's prompt context."""

from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from apps.api.native import memory_serializers as shapes
from apps.api.native import presenters
from apps.api.native.envelope import action, envelope
from apps.api.native.serializers import AUTH_ERRORS, BODY_ERRORS, ErrorSerializer, enveloped
from apps.api.shared.validation import json_object, validated
from apps.conversations import selectors, services

MEMORY = enveloped("SessionMemoryEnvelope", shapes.MemoryOutput)


def _memory_actions(session_id: str) -> list[dict[str, str]]:
    return [
        action(
            f'PATCH /v1/sessions/{session_id}/memory {{"facts": {{"add": [{{"text": "Lives in Lisbon"}}]}}}}',
            "Correct what the character knows",
        ),
        action(f"DELETE /v1/sessions/{session_id}/memory", "Erase what the character knows about this end-user"),
    ]


class SessionMemoryApi(APIView):
    example_bodies = {
        "PATCH": {
            "summary": "Sam is a nurse in Lisbon who plays the cello.",
            "blocks": [{"label": "preferences", "value": "Prefers short replies.", "limit": 500}],
            "facts": {"add": [{"text": "Has a cat named Miso", "key": "user.pet"}], "update": [], "delete": []},
        }
    }

    @extend_schema(
        operation_id="session_memory_get",
        parameters=[shapes.MemoryQuery],
        responses={200: MEMORY, 422: ErrorSerializer, **AUTH_ERRORS},
        description=(
            "What the character knows about the session's end-user: the rolling summary, the pinned blocks and "
            "the current facts. Memory is shared by every session of the same character and end-user."
        ),
    )
    def get(self, request, session_id: str):
        query = validated(shapes.MemoryQuery, request.query_params)
        memory = selectors.session_memory_get(
            app=request.user, session_id=session_id, include_history=query.get("include") == "history"
        )
        return envelope(presenters.memory_data(memory), _memory_actions(session_id))

    @extend_schema(
        operation_id="session_memory_update",
        request=shapes.MemoryPatchInput,
        responses={200: MEMORY, **BODY_ERRORS, **AUTH_ERRORS},
        description=(
            "Correct the memory: replace the summary, set or delete blocks by label, and add, update or delete "
            "facts with explicit operations. All operations apply together or not at all."
        ),
    )
    def patch(self, request, session_id: str):
        services.session_memory_patch(app=request.user, session_id=session_id, changes=json_object(request.data))
        memory = selectors.session_memory_get(app=request.user, session_id=session_id)
        return envelope(presenters.memory_data(memory), _memory_actions(session_id))

    @extend_schema(
        operation_id="session_memory_erase",
        request=None,
        responses={200: enveloped("SessionMemoryErasedEnvelope", shapes.MemoryErasedOutput), **AUTH_ERRORS},
        description=(
            "Erase what the character knows about the end-user (summary, every fact, every block) for all their "
            "sessions with this character. The next prompt has none of it; the messages stay in the event log."
        ),
    )
    def delete(self, request, session_id: str):
        erased = services.session_memory_erase(app=request.user, session_id=session_id)
        return envelope(
            {
                "session_id": session_id,
                "memory_id": erased.memory_id,
                "erased": {"facts": erased.facts, "blocks": erased.blocks, "summary": erased.summary},
            },
            [action(f"GET /v1/sessions/{session_id}/memory", "Check that the memory is empty")],
        )


class RunContextApi(APIView):
    @extend_schema(
        operation_id="run_context_get",
        responses={200: enveloped("RunContextEnvelope", shapes.RunContextOutput), **AUTH_ERRORS},
        description=(
            "What the run's reply prompt was made of: each part with its tokens, the lorebook entries that fired "
            "and why, the facts recalled, the blocks, the summary, and what the token budget trimmed. A run "
            "without a recorded context (not finished, failed, or older than the trace) is 404 "
            "context_not_recorded."
        ),
    )
    def get(self, request, session_id: str, run_ref: str):
        found = selectors.run_context_get(app=request.user, session_id=session_id, run_ref=run_ref)
        return envelope(
            {**found.context, "session_id": found.session_id, "run_ref": found.run_ref},
            [action(f"GET /v1/sessions/{session_id}/runs?run_ref={run_ref}", "The run's status, tokens and cost")],
        )
