"""``POST /npc/api/v1/sdk/chat/{persona_id}/message/stream``: a player message answered as Server-Sent Events.

Frames carry an ``event:`` line, as Foil's SDK reads them: ``metadata`` first (every field of the chat
response but the message: the step the turn applies, known before the reply's first token), then one
``text_delta`` ``{"text"}`` per chunk as the model produces it, then ``done`` with the whole chat response
once the turn is written; or ``error`` ``{"error", "code"}`` when the reply fails after the stream started.
Anything that fails before (bad input, an unknown persona, a finished playthrough, a budget) is an ordinary
error response in Foil's shape, since nothing has been sent yet.

The frames go out through ``apps.api.shared.sse`` (the same machinery as the studio's streams). A listener that
goes away mid-reply does not lose the turn: the reply is finished unheard and written (``NpcTurnStream``).
"""

import logging
from collections.abc import Iterator

from django.http import StreamingHttpResponse

from apps.api.npc import presenters
from apps.api.npc.errors import render_error
from apps.api.shared.sse import StreamSlot, sse_frame
from apps.api.shared.sse import sse_response as shared_sse_response
from apps.conversations.services import NpcTurnStream

logger = logging.getLogger(__name__)


def _frames(stream: NpcTurnStream) -> Iterator[str]:
    yield sse_frame("metadata", presenters.stream_metadata(stream))
    deltas = iter(stream)
    try:
        for delta in deltas:
            yield sse_frame("text_delta", {"text": delta})
    except Exception as error:  # the status line went out with metadata: the failure is an event now
        rendered = render_error(error)
        if rendered is None:
            logger.exception("NPC message stream failed")
            yield sse_frame("error", {"error": "The reply failed; send the message again.", "code": "server_error"})
        else:
            body = rendered[0]["error"]
            yield sse_frame("error", {"error": body["message"], "code": body["code"]})
        return
    finally:
        deltas.close()  # a listener gone mid-reply: the turn still finishes and is written
    assert stream.turn is not None
    yield sse_frame("done", presenters.chat_response(stream.turn))


def sse_response(request, stream: NpcTurnStream, *, slot: StreamSlot) -> StreamingHttpResponse:
    return shared_sse_response(request, _frames(stream), slot=slot)
