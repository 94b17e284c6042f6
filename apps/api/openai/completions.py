"""Which domain call answers a chat completion, and the reply it makes, whatever the call.

- ``character:<slug>`` with ``user``: a turn of that end-user's session with the character
  (``session_of_end_user_ensure``, then ``message_turn``): the persona, emotion state and memory carry across
  calls; the request's messages are the prompt's history (the log's is not used) and the last one, which
  must be the user's, is the turn written to the session's log.
- ``character:<slug>`` without ``user``: a stateless completion led by the character's persona and sheet
  (``completion_stream``); nothing is written to any session.
- any other name: a catalog chat model, a plain completion (``completion_stream``).

A character's reply may carry a selfie, drawn after the reply: it is appended to the content as a Markdown
image (``![caption](url)``) whose signed URL serves the picture once it is drawn (until then it answers 404).
Bubbles are not marked: the content is the whole text, as the log keeps it.
"""

import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings

from apps.api.openai import presenters
from apps.api.openai.errors import ModelUnavailable
from apps.assets import selectors as assets_selectors
from apps.conversations import services as conversations_services
from apps.core.errors import ValidationFailed
from apps.llm.types import ChatMessage, Usage


class ChatReply:
    """One completion in progress: iterate it for the content's deltas; once exhausted, ``content`` and
    ``usage`` hold what was answered. Closing it mid-way (a client gone) lets the domain finish unheard."""

    def __init__(self, *, model: str, source: Any, run_ref: str = "", absolute_url=None) -> None:
        self.model = model
        self.id = presenters.completion_id(run_ref)
        self.created = int(time.time())
        self.content = ""
        self.usage: Usage | None = None
        self._source = source
        self._absolute_url = absolute_url or (lambda url: url)
        self._deltas: Iterator[str] | None = None

    def __iter__(self) -> Iterator[str]:
        self._deltas = iter(self._source)
        parts = []
        for delta in self._deltas:
            if delta:
                parts.append(delta)
                yield delta
        tail = self._finish()
        if tail:
            parts.append(tail)
            yield tail
        self.content = "".join(parts)

    def run(self) -> str:
        for _ in self:
            pass
        return self.content

    def close(self) -> None:
        if self._deltas is not None and hasattr(self._deltas, "close"):
            self._deltas.close()

    def _finish(self) -> str:
        """What follows the model's text (a selfie's link), and the usage, once the source is exhausted."""
        reply = getattr(self._source, "reply", None)
        if reply is None:  # a completion
            result = self._source.result
            self.usage = result.usage if result is not None else None
            return ""
        self.usage = self._source.usage
        selfie = (reply.get("payload") or {}).get("selfie")
        if not selfie or not selfie.get("image_id"):
            return ""
        url = self._absolute_url(assets_selectors.image_url_signed(image_id=selfie["image_id"]))
        caption = str(selfie.get("caption") or "selfie").replace("]", ")").replace("[", "(")
        return f"\n\n![{caption}]({url})"


def _turn_text(messages: list[ChatMessage]) -> str:
    """The turn: the last message, which must be the user's and no longer than a message may be (checked here
    too, before the end-user's first call opens a session, so that a refused turn writes nothing)."""
    if messages[-1].role != "user":
        raise ValidationFailed({"messages": ["The last message must be the user's: it is the turn answered."]})
    text = messages[-1].content
    if len(text) > settings.MESSAGE_MAX_CHARS:
        raise ValidationFailed({"messages": [f"The last message has at most {settings.MESSAGE_MAX_CHARS} characters."]})
    return text


def chat_start(*, app, data: dict[str, Any], absolute_url=None) -> ChatReply:
    """Start the completion ``data`` (a validated ``ChatCompletionInput``) asks for; raises the domain's errors
    (an unknown model, a budget with no room...) before anything is written or any model called."""
    model: str = data["model"]
    messages: list[ChatMessage] = data["messages"]
    user = data.get("user") or ""
    if not model.startswith(presenters.CHARACTER_PREFIX):
        completion = conversations_services.completion_stream(
            app=app, messages=messages, model=model, external_user_ref=user
        )
        return ChatReply(model=model, source=completion)
    slug = model.removeprefix(presenters.CHARACTER_PREFIX)
    if not slug:
        raise ModelUnavailable(f"The model `{model}` does not exist or you do not have access to it.")
    if not user:
        completion = conversations_services.completion_stream(app=app, messages=messages, character_slug=slug)
        return ChatReply(model=model, source=completion)
    text = _turn_text(messages)
    session_id = conversations_services.session_of_end_user_ensure(app=app, character_slug=slug, external_user_ref=user)
    turn = conversations_services.message_turn(app=app, session_id=session_id, text=text, history=messages)
    return ChatReply(model=model, source=turn, run_ref=turn.send.run_ref, absolute_url=absolute_url)
