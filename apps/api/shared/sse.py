"""Answering a request with Server-Sent Events produced by a synchronous generator, on every surface that
streams a reply token by token (NPC messages, studio completions and messages, OpenAI chat completions).

The frames are produced by a synchronous generator (the model client and the database are synchronous).
Under ASGI it is advanced one frame at a time in the request's thread-sensitive executor, so each chunk leaves
as soon as the model sends it; under WSGI the generator is handed to the server as it is. Either way the
generator is closed when the listener goes away, so the surface's ``finally`` can finish the turn unheard.
"""

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from rest_framework.renderers import JSONRenderer

from apps.api.shared.authentication import stream_owner
from apps.core.stream_leases import StreamLease, stream_lease_acquire


def sse_frame(event: str, data: Any) -> str:
    """One frame: an ``event:`` line and its JSON ``data:`` line."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


def sse_data_frame(data: Any) -> str:
    """One frame with only a ``data:`` line: JSON, or a string as it is (OpenAI's chunks and its ``[DONE]``)."""
    body = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), default=str)
    return f"data: {body}\n\n"


class EventStreamRenderer(JSONRenderer):
    """Lets a request that accepts only ``text/event-stream`` (a standard SSE client) reach the view; what the
    view answers before the stream starts (an error) is still JSON in the surface's shape."""

    media_type = "text/event-stream"
    format = "sse"


_END = object()


class StreamSlot:
    """A place among the caller's open streams (``apps.core.stream_leases``), taken before a streamed turn
    starts so that a caller at ``STREAM_MAX_CONNECTIONS_PER_KEY`` is refused (429, nothing written)::

        with stream_slot(request, wanted=data["stream"]) as slot:
            ...start the turn...
            return sse_response(request, frames, slot=slot)

    An error before the response is made gives the slot back; once ``sse_response`` has it, the stream keeps
    its lease fresh while frames flow and gives it back when the stream ends or the listener goes away.
    """

    def __init__(self, lease: StreamLease | None) -> None:
        self.lease = lease

    def __enter__(self) -> "StreamSlot":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None and self.lease is not None:
            self.lease.release()


def stream_slot(request, *, wanted: bool = True) -> StreamSlot:
    """A slot for the stream ``request`` is about to answer with (none when ``wanted`` is false: a plain reply).
    Raises StreamLimitReached."""
    return StreamSlot(stream_lease_acquire(owner=stream_owner(request)) if wanted else None)


def _leased(frames: Iterator[str], lease: StreamLease | None) -> Iterator[str]:
    try:
        for frame in frames:  # noqa: UP028 - ``yield from`` would not refresh the lease between frames
            if lease is not None:
                lease.refresh()
            yield frame
    finally:
        frames.close()
        if lease is not None:
            lease.release()


async def _frames_async(frames: Iterator[str]) -> AsyncIterator[str]:
    advance = sync_to_async(next, thread_sensitive=True)
    try:
        while (frame := await advance(frames, _END)) is not _END:
            yield frame
    finally:
        await sync_to_async(frames.close, thread_sensitive=True)()


def sse_response(request, frames: Iterator[str], *, slot: StreamSlot | None = None) -> StreamingHttpResponse:
    """``frames`` (a generator of ``sse_frame`` strings) as a ``text/event-stream`` response, holding ``slot``'s
    lease until the stream ends."""
    frames = _leased(frames, slot.lease if slot is not None else None)
    if slot is not None:
        slot.lease = None  # the stream owns it now
    asgi = isinstance(getattr(request, "_request", request), ASGIRequest)
    response = StreamingHttpResponse(_frames_async(frames) if asgi else frames, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
