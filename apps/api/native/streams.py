"""``GET /v1/sessions/{id}/events/stream``: the event log as Server-Sent Events.

Frames are ``id: <cursor>`` + ``data: <event JSON>`` (no ``event:`` line, so EventSource's ``onmessage``
sees them all). The stream subscribes to the session's group *before* reading the backlog from the
database, then drops anything at or below the last cursor sent and refills from the database when a
gap shows, so events that commit while it connects are neither missed nor doubled.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from apps.accounts import selectors as accounts_selectors
from apps.accounts.errors import ApiKeyInvalid, ApiKeyMissing
from apps.api.native.errors import json_error
from apps.conversations import selectors
from apps.core.errors import ApplicationError, ValidationFailed
from apps.delivery import realtime

PAGE = 500


def _authenticate_and_load(authorization: str, session_id: str):
    scheme, _, raw_key = authorization.partition(" ")
    if not authorization:
        raise ApiKeyMissing("An API key is required.")
    if scheme.lower() != "bearer" or not raw_key.strip():
        raise ApiKeyInvalid("The Authorization header must be 'Bearer <key>'.")
    key = accounts_selectors.api_key_authenticate(raw_key=raw_key.strip())
    return selectors.session_get(app=key.app, session_id=session_id)


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


async def _backlog(session_id: str, since: int) -> list[dict]:
    events = await sync_to_async(selectors.event_list)(session_id=session_id, since=since, limit=PAGE)
    return [event.as_public_dict() for event in events]


async def _event_frames(session_id: str, since: int) -> AsyncIterator[str]:
    layer = get_channel_layer()
    realtime.server_loop_remember(asyncio.get_running_loop())
    channel = await layer.new_channel()
    group = realtime.session_group(session_id)
    await layer.group_add(group, channel)
    last = since
    deadline = time.monotonic() + settings.SSE_MAX_SECONDS
    try:
        yield f"retry: 2000\n: connected to {session_id}\n\n"
        while True:  # backlog, page by page
            page = await _backlog(session_id, last)
            for event in page:
                yield _frame(event)
                last = event["cursor"]
            if len(page) < PAGE:
                break
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                message = await asyncio.wait_for(
                    layer.receive(channel), timeout=min(settings.SSE_HEARTBEAT_SECONDS, remaining)
                )
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            cursor = message["event"]["cursor"]
            if cursor <= last:
                continue
            pending = [message["event"]] if cursor == last + 1 else await _backlog(session_id, last)
            for event in pending:
                if event["cursor"] > last:
                    yield _frame(event)
                    last = event["cursor"]
        yield ": stream closes after its time limit; reconnect with Last-Event-ID\n\n"
    finally:
        await layer.group_discard(group, channel)


async def session_event_stream(request: HttpRequest, session_id: str) -> HttpResponse:
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    try:
        since = _start_cursor(request)
        session = await sync_to_async(_authenticate_and_load)(request.headers.get("Authorization", ""), session_id)
    except ApplicationError as error:
        return json_error(error)
    response = StreamingHttpResponse(_event_frames(session.id, since), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
