"""A chat completion with ``stream: true``: ``chat.completion.chunk`` frames as Server-Sent Events.

The first chunk carries ``delta.role``; each of the model's deltas follows as a ``delta.content`` chunk as
soon as the model sends it; a closing chunk carries ``finish_reason: "stop"``; with
``stream_options.include_usage`` a last chunk has no choices and the usage; then ``data: [DONE]``. A reply
that fails after the stream started ends it with an ``{"error": {...}}`` frame (what OpenAI's clients raise
as ``APIError``), since the status line is gone. Anything that fails before is an ordinary error response.
"""

import logging
from collections.abc import Iterator

from django.http import StreamingHttpResponse

from apps.api.openai import presenters
from apps.api.openai.completions import ChatReply
from apps.api.openai.errors import render_error, stream_error_body
from apps.api.shared.sse import StreamSlot, sse_data_frame, sse_response

logger = logging.getLogger(__name__)
DONE = sse_data_frame("[DONE]")


def _frames(reply: ChatReply, include_usage: bool) -> Iterator[str]:
    ids = {"id_": reply.id, "created": reply.created, "model": reply.model}
    yield sse_data_frame(presenters.chunk(**ids, delta={"role": "assistant", "content": ""}))
    deltas = iter(reply)
    try:
        for delta in deltas:
            yield sse_data_frame(presenters.chunk(**ids, delta={"content": delta}))
    except Exception as error:  # the status line went out with the first chunk: the failure is a frame now
        if render_error(error) is None:
            logger.exception("OpenAI chat completion stream failed")
        yield sse_data_frame(stream_error_body(error))
        return
    finally:
        deltas.close()
        reply.close()  # a listener gone mid-reply: the turn still finishes and is written
    yield sse_data_frame(presenters.chunk(**ids, finish_reason="stop"))
    if include_usage:
        yield sse_data_frame(presenters.usage_chunk(**ids, used=reply.usage))
    yield DONE


def chunk_response(request, reply: ChatReply, *, include_usage: bool, slot: StreamSlot) -> StreamingHttpResponse:
    return sse_response(request, _frames(reply, include_usage), slot=slot)
