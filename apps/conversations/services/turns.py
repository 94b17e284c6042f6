"""A turn answered in the request's thread: the studio's conversation messages and the OpenAI door's calls
with a ``user``. The same pipeline as an asynchronous turn (``message_send`` then one attempt of
``run_steps``), so the session's log, emotion, usage, webhooks and event streams see an ordinary turn; only
who waits for the reply differs."""

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from apps.conversations.services.messages import SendResult, message_send
from apps.conversations.services.runs import RunOutcome, run_steps
from apps.conversations.services.turn_prompt import TurnOptions
from apps.core.errors import ApplicationError
from apps.llm import selectors as llm_selectors
from apps.llm.types import ChatMessage, Usage

if TYPE_CHECKING:
    from apps.accounts.models import App


class TurnStream:
    """An accepted message whose reply runs as it is iterated: the reply's text deltas as the model writes them
    (a turn that may carry a selfie answers JSON, not streamed: its text comes whole, once written), then the
    turn is written and ``reply`` is the character's ``message.created`` (its public dict).

    A failed turn is recorded as ``run.failed`` and its error raised from the iteration. A caller that stops
    iterating early (its client went away) does not lose the turn: closing the stream finishes it unheard.
    A message accepted but never iterated stays queued, and the recovery sweep hands it to a worker."""

    def __init__(self, send: SendResult, options: TurnOptions) -> None:
        self.send = send
        self.options = options
        self.outcome: RunOutcome | None = None

    @property
    def reply(self) -> dict[str, Any] | None:
        return self.outcome.reply if self.outcome else None

    @property
    def usage(self) -> Usage:
        result = self.outcome.result if self.outcome else None
        return result.usage if result is not None else Usage()

    @property
    def model(self) -> str:
        result = self.outcome.result if self.outcome else None
        return result.model if result is not None else ""

    @property
    def trace(self) -> dict[str, Any] | None:
        return self.outcome.trace if self.outcome else None

    def __iter__(self) -> Iterator[str]:
        steps = run_steps(run_id=self.send.run_ref, options=self.options)
        streamed = False
        try:
            while True:
                try:
                    delta = next(steps)
                except StopIteration as finished:
                    self.outcome = finished.value
                    break
                streamed = True
                yield delta
        except GeneratorExit:
            # The listener went away mid-reply: finish the turn unheard (nothing accepted is lost), then stop.
            self._finish(steps)
            raise
        self._raise_unless_replied()
        if not streamed and self.reply is not None:
            text = self.reply["payload"].get("text", "")
            if text:
                yield text

    def _finish(self, steps) -> None:
        while self.outcome is None:
            try:
                next(steps)
            except StopIteration as finished:
                self.outcome = finished.value

    def _raise_unless_replied(self) -> None:
        outcome = self.outcome
        if outcome is None or outcome.status == "succeeded":
            return
        if outcome.error is not None:
            raise outcome.error
        # Skipped or superseded: another worker owns the run (the recovery sweep took it); its reply will be
        # in the log, not in this response.
        raise ApplicationError("The turn was taken over by a worker; its reply will appear in the session's events.")

    def run(self) -> dict[str, Any] | None:
        """Drive the turn to its end without streaming; the reply (raises what iterating raises)."""
        for _ in self:
            pass
        return self.reply


def message_turn(
    *,
    app: "App",
    session_id: str,
    text: str,
    idempotency_key: str | None = None,
    model: str = "",
    history: list[ChatMessage] | None = None,
    trace: bool = False,
) -> TurnStream:
    """Accept ``text`` as ``message_send`` does (raising what it raises, before anything is written) and return
    the turn to run in the caller's thread, streamed.

    ``model`` replaces the session's model for this turn; ``history`` (the OpenAI door's request messages)
    replaces the log's history in the prompt; ``trace`` collects the prompt's parts, the emotion and timings
    (``TurnStream.trace``). A transient model error fails the turn at once: the caller is waiting for it."""
    if model:
        llm_selectors.model_spec_get(name=model)  # ModelNotFound before the message is accepted
    send = message_send(app=app, session_id=session_id, text=text, idempotency_key=idempotency_key, dispatch=False)
    options = TurnOptions(
        model=model,
        history=tuple(history) if history is not None else None,
        stream=True,
        inline=True,
        trace=trace,
    )
    return TurnStream(send, options)
