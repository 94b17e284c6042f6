from urllib.parse import urlencode

from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.views import APIView

from apps.accounts import selectors as accounts_selectors
from apps.api.native import presenters
from apps.api.native.envelope import action, envelope
from apps.api.native.serializers import (
    AUTH_ERRORS,
    BODY_ERRORS,
    ErrorSerializer,
    EventListOutput,
    EventListQuery,
    MessageAcceptedOutput,
    MessageInput,
    RunListOutput,
    RunListQuery,
    SessionInput,
    SessionListOutput,
    SessionListQuery,
    SessionOutput,
    SessionPatchInput,
    StreamTokenOutput,
    enveloped,
)
from apps.api.shared.pagination import page_cursor_decode, page_cursor_encode
from apps.api.shared.validation import IDEMPOTENCY_KEY_MAX_LENGTH, idempotency_key, json_object, validated
from apps.conversations import selectors, services

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
    OpenApiParameter.HEADER,
    required=False,
    description="Retries with the same key return the first answer.",
)


class SessionCollectionApi(APIView):
    example_bodies = {"POST": {"character": "luna", "external_user_ref": "user_123"}}

    @extend_schema(
        operation_id="session_create",
        request=SessionInput,
        responses={
            201: enveloped("SessionEnvelope", SessionOutput),
            409: ErrorSerializer,
            **BODY_ERRORS,
            **AUTH_ERRORS,
        },
    )
    def post(self, request):
        data = validated(SessionInput, request.data)
        session = services.session_create(
            app=request.user,
            character_slug=data["character"],
            external_user_ref=data["external_user_ref"],
            proactive_enabled=data["proactive_enabled"],
            character_version=data.get("character_version"),
        )
        sid = session.id
        return envelope(
            presenters.session_data(session),
            [
                action(f'POST /v1/sessions/{sid}/messages {{"text": "hello!"}}', "Send the end-user's first message"),
                action(f"GET /v1/sessions/{sid}/events?since=0", "Poll the event log for the character's replies"),
                action(f"GET /v1/sessions/{sid}/events/stream", "Or stream the events live (SSE)"),
            ],
            status=201,
        )

    @extend_schema(
        operation_id="session_list",
        parameters=[SessionListQuery],
        responses={200: enveloped("SessionListEnvelope", SessionListOutput), 422: ErrorSerializer, **AUTH_ERRORS},
    )
    def get(self, request):
        query = validated(SessionListQuery, request.query_params)
        sessions = selectors.session_list(
            app=request.user, character_slug=query.get("character"), external_user_ref=query.get("external_user_ref")
        )
        if "cursor" in query:
            created_at, row_id = page_cursor_decode(query["cursor"])
            sessions = sessions.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=row_id))
        page = list(sessions[: query["limit"] + 1])
        more = len(page) > query["limit"]
        page = page[: query["limit"]]
        next_cursor = page_cursor_encode(page[-1].created_at, page[-1].id) if more else None
        next_actions = []
        if next_cursor:  # the next page keeps this page's filters and size
            kept = {name: query[name] for name in ("limit", "character", "external_user_ref") if query.get(name)}
            next_actions.append(action(f"GET /v1/sessions?{urlencode({**kept, 'cursor': next_cursor})}", "Next page"))
        next_actions.append(
            action(
                'POST /v1/sessions {"character": "<slug>", "external_user_ref": "<your-user-id>"}',
                "Start a session for another end-user",
            )
        )
        return envelope(
            {"sessions": [presenters.session_data(s) for s in page], "next_cursor": next_cursor}, next_actions
        )


SESSION_DETAIL = enveloped("SessionDetailEnvelope", SessionOutput)


class SessionDetailApi(APIView):
    @extend_schema(operation_id="session_get", responses={200: SESSION_DETAIL, **AUTH_ERRORS})
    def get(self, request, session_id: str):
        session = selectors.session_get(app=request.user, session_id=session_id)
        return envelope(
            presenters.session_data(session),
            [action(f"GET /v1/sessions/{session_id}/events?since=0", "Read the session's events")],
        )

    @extend_schema(
        operation_id="session_update",
        request=SessionPatchInput,
        responses={200: SESSION_DETAIL, **BODY_ERRORS, **AUTH_ERRORS},
        description=(
            "Pin the session to a version of its character (its next turn runs on it), or send null to let it "
            "follow the character again. Messages already answered keep the version they ran on."
        ),
    )
    def patch(self, request, session_id: str):
        data = validated(SessionPatchInput, json_object(request.data))
        if "character_version" in data:
            services.session_version_pin(
                app=request.user, session_id=session_id, character_version=data["character_version"]
            )
        session = selectors.session_get(app=request.user, session_id=session_id)
        return envelope(
            presenters.session_data(session),
            [action(f'POST /v1/sessions/{session_id}/messages {{"text": "hi"}}', "The next turn runs on this version")],
        )


class StreamTokenApi(APIView):
    rate_limit_exempt = True  # part of opening a stream, which has connection limits of its own

    @extend_schema(
        operation_id="session_stream_token_create",
        request=None,
        responses={201: enveloped("StreamTokenEnvelope", StreamTokenOutput), **AUTH_ERRORS},
        description=(
            "Mint a short-lived token that opens this session's event stream from a browser, where EventSource "
            "cannot send an Authorization header. Call it from your backend and hand the token to the page; "
            "it is accepted only as ?token= on GET /v1/sessions/{id}/events/stream."
        ),
    )
    def post(self, request, session_id: str):
        issued = services.session_stream_token_issue(app=request.user, session_id=session_id)
        stream_url = f"/v1/sessions/{session_id}/events/stream?{urlencode({'token': issued.token})}"
        return envelope(
            {"token": issued.token, "expires_at": issued.expires_at, "stream_url": stream_url},
            [action(f"GET {stream_url}", "Open the stream in the browser: new EventSource(stream_url)")],
            status=201,
        )


class MessageSendApi(APIView):
    example_bodies = {"POST": {"text": "hey, what are you up to?"}}

    @extend_schema(
        operation_id="message_send",
        request=MessageInput,
        parameters=[
            IDEMPOTENCY_KEY_PARAMETER,
        ],
        responses={
            202: enveloped("MessageAcceptedEnvelope", MessageAcceptedOutput),
            402: ErrorSerializer,
            429: ErrorSerializer,
            **BODY_ERRORS,
            **AUTH_ERRORS,
        },
        description="Accept the end-user's message; the character's reply arrives as a later event.",
    )
    def post(self, request, session_id: str):
        data = validated(MessageInput, request.data)
        result = services.message_send(
            app=request.user,
            session_id=session_id,
            text=data["text"],
            idempotency_key=idempotency_key(request),
        )
        body = {
            "accepted": result.accepted,
            "cursor": result.cursor,
            "sent_turn_index": result.sent_turn_index,
            "run_ref": result.run_ref,
            "reply_mode": result.reply_mode,
        }
        return envelope(
            body,
            [
                action(f"GET /v1/sessions/{session_id}/events?since={result.cursor}", "Poll for the character's reply"),
                action(f"GET /v1/sessions/{session_id}/events/stream?since={result.cursor}", "Or stream it (SSE)"),
            ],
            status=202,
        )


class EventListApi(APIView):
    @extend_schema(
        operation_id="event_list",
        parameters=[EventListQuery],
        responses={200: enveloped("EventListEnvelope", EventListOutput), 422: ErrorSerializer, **AUTH_ERRORS},
    )
    def get(self, request, session_id: str):
        query = validated(EventListQuery, request.query_params)
        last_cursor = selectors.session_last_cursor(app=request.user, session_id=session_id)
        events = []
        if last_cursor > query["since"]:  # nothing new: answer without touching the event table
            events = [
                event.as_public_dict()
                for event in selectors.event_list(session_id=session_id, since=query["since"], limit=query["limit"])
            ]
        next_cursor = events[-1]["cursor"] if events else query["since"]
        return envelope(
            {"session_id": session_id, "events": events, "next_cursor": next_cursor},
            [action(f"GET /v1/sessions/{session_id}/events?since={next_cursor}", "Poll again for newer events")],
        )


class RunListApi(APIView):
    @extend_schema(
        operation_id="run_list",
        parameters=[RunListQuery],
        responses={200: enveloped("RunListEnvelope", RunListOutput), 422: ErrorSerializer, **AUTH_ERRORS},
    )
    def get(self, request, session_id: str):
        query = validated(RunListQuery, request.query_params)
        session = selectors.session_get(app=request.user, session_id=session_id)
        rows = selectors.run_list(session_id=session.id, run_id=query.get("run_ref"))
        usage = accounts_selectors.usage_by_run(app_id=session.app_id, run_refs=[run.id for run in rows])
        runs = [presenters.run_data(run, usage.get(run.id)) for run in rows]
        return envelope(
            {"session_id": session.id, "runs": runs},
            [action(f"GET /v1/sessions/{session.id}/events?since=0", "Read the events these runs produced")],
        )
