"""Server-Sent Events from a synchronous iterator of frames, for every surface that streams a reply.

The frames come from synchronous code (the model client and the database are synchronous). Under ASGI the
iterator is advanced one frame at a time in the request's thread-sensitive executor, so each frame leaves as
soon as it is produced and the event loop never blocks; under WSGI the iterator is handed to the server as it
is. Either way the iterator is closed when the listener goes away, so a generator's ``finally`` runs (a turn
finishes unheard and is written).
"""

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from rest_framework.renderers import JSONRenderer


def sse_frame(data: dict[str, Any] | str, *, event: str = "") -> str:
    """One frame: an optional ``event:`` line and a ``data:`` line (a dict as compact JSON, a str as it is)."""
    body = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), default=str)
    return f"event: {event}\ndata: {body}\n\n" if event else f"data: {body}\n\n"


class EventStreamRenderer(JSONRenderer):
    """Lets a request that accepts only ``text/event-stream`` (a standard SSE client) reach a streaming view;
    what the view answers before the stream starts (an error) is still JSON in the surface's shape."""

    media_type = "text/event-stream"
    format = "sse"


_END = object()


async def _frames_async(frames: Iterator[str]) -> AsyncIterator[str]:
    advance = sync_to_async(next, thread_sensitive=True)
    try:
        while (frame := await advance(frames, _END)) is not _END:
            yield frame
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            await sync_to_async(close, thread_sensitive=True)()


def sse_response(request, frames: Iterator[str]) -> StreamingHttpResponse:
    """A streaming response of ``frames`` (already formatted, see ``sse_frame``) for a DRF or Django request."""
    asgi = isinstance(getattr(request, "_request", request), ASGIRequest)
    response = StreamingHttpResponse(_frames_async(frames) if asgi else frames, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
