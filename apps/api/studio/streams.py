"""``stream: true`` on ``POST completions`` and ``POST conversations/{id}/messages``: the answer as
Server-Sent Events while the model writes it.

Frames (each an ``event:`` line and a JSON ``data:`` line):

- ``delta`` ``{"content": "<text>"}``, one per chunk the model sends; joined, they are the whole reply;
- ``done`` with the same object the request answers without ``stream`` (``{id, content, role, created_at}``,
  plus ``thought_process`` with ``verbose``), once the reply is whole (and, for a message, written);
- or ``error`` ``{"error": "<message>"}`` when the reply fails after the stream started (nothing is written
  for a failed message but its ``run.failed`` event).

Anything that fails before the first frame (bad input, an unknown conversation, a budget) is an ordinary
``{"error"}`` response with its status. A listener that goes away mid-reply does not lose a message: the
turn finishes unheard and is written.
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from apps.api.shared.sse import sse_frame
from apps.api.studio.errors import INTERNAL_ERROR, render_error

logger = logging.getLogger(__name__)


def reply_frames(deltas: Iterable[str], done: Callable[[], dict[str, Any]]) -> Iterator[str]:
    """``delta`` frames while ``deltas`` runs, then ``done`` with what ``done()`` returns once it is exhausted."""
    iterator = iter(deltas)
    try:
        for delta in iterator:
            if delta:
                yield sse_frame("delta", {"content": delta})
    except Exception as error:  # the status line went out: the failure is an event now
        rendered = render_error(error)
        if rendered is None:
            logger.exception("Studio stream failed")
            yield sse_frame("error", {"error": INTERNAL_ERROR})
        else:
            yield sse_frame("error", rendered[0])
        return
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()  # a listener gone mid-reply: the turn still finishes and is written
    yield sse_frame("done", done())
