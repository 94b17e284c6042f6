"""``GET /v1/sessions/{id}/events/stream``: the event log as Server-Sent Events.

Frames are ``id: <cursor>`` + ``data: <event JSON>`` (no ``event:`` line, so EventSource's ``onmessage``
sees them all). The stream subscribes to the session's group *before* reading the backlog from the
database, then drops anything at or below the last cursor sent and refills from the database when a
gap shows, so events that commit while it connects are neither missed nor doubled.

Who may open it: see ``apps.api.shared.authentication.stream_caller`` (an API key in the header, a stream token
in ``?token=`` for browsers, or a signed-in superuser). Each heartbeat also
reads the log, so an event whose notification was lost still arrives, one heartbeat late at most.

While a reply is being written the stream also carries its text as it comes: ephemeral frames with an
``event: message.delta`` line and no ``id:`` (``{"type": "message.delta", "run_ref", "index", "text"}``), then
the durable ``message.created`` as always. A named event does not reach EventSource's ``onmessage`` and a frame
without ``id`` leaves ``Last-Event-ID`` alone, so a client that ignores deltas sees exactly the log's stream,
and a reconnect resumes from the log (deltas are never replayed). The stream marks its session as listened
to when it opens and at each heartbeat, which is what makes workers stream that session's replies;
``?deltas=false`` leaves the deltas out (and does not ask workers to stream).
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from apps.api.native.errors import json_error
from apps.api.shared.authentication import stream_caller
from apps.api.shared.errors import error_body
from apps.conversations import selectors
from apps.conversations import services as conversation_services
from apps.core.errors import ApplicationError, ValidationFailed
from apps.core.stream_leases import StreamLease, stream_lease_acquire
from apps.delivery import selectors as delivery_selectors
from apps.delivery import services as delivery_services

PAGE = 500


def _authenticate_and_load(request: HttpRequest, session_id: str):
    caller = stream_caller(
        authorization=request.headers.get("Authorization", ""),
        token=request.GET.get("token", ""),
        # Set by the site stack's AuthenticationMiddleware (a request with a cookie); absent on the API stack.
        user=getattr(request, "user", None),
        session_id=session_id,
        kind="session",
    )
    session = selectors.session_get(app=caller.app, session_id=session_id)
    # Last, so that a refused key or an unknown session holds no lease.
    return session, stream_lease_acquire(owner=caller.owner)


def _start_cursor(request: HttpRequest) -> int:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("since") or "0"
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValidationFailed({"since": ["Must be a non-negative integer cursor."]})
    return value


def _frame(event: dict) -> str:
    return f"id: {event['cursor']}\ndata: {json.dumps(event, separators=(',', ':'), default=str)}\n\n"


def _flash_frame(frame: dict) -> str:
    # ``event_type`` too, as the log's events have it: a hand-written parser that reads every ``data:`` line
    # then sees an event type it does not know, instead of a frame without the key it looks up.
    body = {key: value for key, value in frame.items() if key != "session_id"}
    body["event_type"] = frame["type"]
    return f"event: {frame['type']}\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"


def _events_after(session_id: str, since: int) -> list[dict]:
    try:
        events = selectors.event_list(session_id=session_id, since=since, limit=PAGE)
        return [event.as_public_dict() for event in events]
    finally:
        # A stream lives for minutes: hand the connection back (to the pool, in production) after each
        # read instead of holding one per open stream until the response ends, which would starve
        # ordinary requests once there are more streams than pooled connections.
        if not connection.in_atomic_block:
            connection.close()


async def _catch_up(session_id: str, since: int) -> AsyncIterator[dict]:
    """Every committed event after ``since``, page by page, from the database."""
    while True:
        page = await sync_to_async(_events_after)(session_id, since)
        for event in page:
            yield event
            since = event["cursor"]
        if len(page) < PAGE:
            return


def _wants_deltas(request: HttpRequest) -> bool:
    return request.GET.get("deltas", "true").lower() not in {"false", "0", "no"}


async def _event_frames(session_id: str, since: int, deltas: bool, lease: StreamLease) -> AsyncIterator[str]:
    try:
        async for frame in _session_frames(session_id, since, deltas, lease):
            yield frame
    finally:
        await sync_to_async(lease.release)()


async def _session_frames(session_id: str, since: int, deltas: bool, lease: StreamLease) -> AsyncIterator[str]:
    layer = get_channel_layer()
    delivery_services.server_loop_remember(asyncio.get_running_loop())
    channel = await layer.new_channel()
    group = delivery_selectors.session_group(session_id)
    await layer.group_add(group, channel)
    # One receive stays pending for the whole stream. Cancelling a receive (as a timeout would) makes
    # the Redis pub/sub layer drop the channel, losing whatever arrives before the next receive; the
    # pending receive is cancelled only at the end, which is also what unsubscribes the channel.
    receiving = asyncio.ensure_future(layer.receive(channel))
    last = since
    deadline = time.monotonic() + settings.SSE_MAX_SECONDS
    listen = sync_to_async(conversation_services.delta_listen)
    try:
        if deltas:
            await listen(session_id=session_id)
        yield f"retry: 2000\n: connected to {session_id}\n\n"
        async for event in _catch_up(session_id, last):
            yield _frame(event)
            last = event["cursor"]
        while (remaining := deadline - time.monotonic()) > 0:
            done, _ = await asyncio.wait({receiving}, timeout=min(settings.SSE_HEARTBEAT_SECONDS, remaining))
            if not done:
                # Quiet for a while: also look at the log, in case a notification never came (a full
                # in-memory channel, a broker blip), so a lost push costs one heartbeat of delay at most.
                async for event in _catch_up(session_id, last):
                    yield _frame(event)
                    last = event["cursor"]
                if deltas:
                    await listen(session_id=session_id)
                await sync_to_async(lease.refresh)()
                yield ": heartbeat\n\n"
                continue
            message = receiving.result()
            receiving = asyncio.ensure_future(layer.receive(channel))
            if message["type"] == "session.flash":
                for frame in message["frames"] if deltas else ():
                    yield _flash_frame(frame)
                continue
            pushed = [event for event in message["events"] if event["cursor"] > last]  # drop what was sent
            if pushed and pushed[0]["cursor"] == last + 1:
                for event in pushed:
                    yield _frame(event)
                    last = event["cursor"]
            elif pushed:
                # A gap: the events in between committed but their notifications are late or lost.
                async for event in _catch_up(session_id, last):
                    yield _frame(event)
                    last = event["cursor"]
        yield ": stream closes after its time limit; reconnect with Last-Event-ID\n\n"
    finally:
        receiving.cancel()
        await asyncio.wait({receiving})
        await layer.group_discard(group, channel)


async def session_event_stream(request: HttpRequest, session_id: str) -> HttpResponse:
    if request.method != "GET":
        body = error_body("method_not_allowed", f'Method "{request.method}" not allowed.', "Use GET.")
        return JsonResponse(body, status=405, headers={"Allow": "GET"})
    try:
        since = _start_cursor(request)
        session, lease = await sync_to_async(_authenticate_and_load)(request, session_id)
    except ApplicationError as error:
        return json_error(error)
    frames = _event_frames(session.id, since, _wants_deltas(request), lease)
    response = StreamingHttpResponse(frames, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
