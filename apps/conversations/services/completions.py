"""Stateless completions: a model answers a caller's messages, optionally in a character's voice, with
nothing written to any session (the studio's ``POST completions``; the OpenAI door without a ``user``, or
with a catalog model). Metered like every model call: reserved on the app's budgets (and balance) before the
call, settled after it at the model's rate."""

import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

from django.db import transaction

from apps.accounts import services as accounts_services
from apps.accounts.types import ResourceType, UsagePurpose
from apps.characters import selectors as character_selectors
from apps.conversations import prompts
from apps.conversations.services import metering
from apps.core.errors import ApplicationError
from apps.llm import selectors as llm_selectors
from apps.llm import services as llm_services
from apps.llm.types import ChatMessage, ChatResult

if TYPE_CHECKING:
    from apps.accounts.models import App


class CompletionStream:
    """One metered completion: iterate it for the text deltas; once exhausted, ``result`` is the whole answer
    with its usage and the call is settled. A failed call is settled as failed and its error raised; a caller
    that stops early still pays for what the model wrote (the rest is read and settled on close)."""

    def __init__(self, call: metering.MeteredCall, messages: list[ChatMessage]) -> None:
        self.id = uuid.uuid4().hex
        self.created = int(time.time())
        self.call = call
        self.messages = messages
        self.result: ChatResult | None = None

    @property
    def model(self) -> str:
        return self.call.spec.name

    def __iter__(self) -> Iterator[str]:
        stream = llm_services.ChatStream(self.call.spec, self.messages)
        deltas = iter(stream)
        try:
            try:
                for delta in deltas:  # noqa: UP028 - ``yield from`` would close ``deltas`` with this generator
                    yield delta
            except GeneratorExit:
                for _ in deltas:
                    pass
                self._settle(stream.result, "succeeded")
                raise
        except ApplicationError:
            self._settle(None, "failed")
            raise
        self._settle(stream.result, "succeeded")

    def _settle(self, result: ChatResult | None, outcome: str) -> None:
        if self.result is not None:
            return
        usage = result.usage if result is not None else None
        model = result.model if result is not None else ""
        with transaction.atomic():
            metering.calls_settle(outcomes=[metering.CallOutcome(self.call, usage, outcome, model)])
        self.result = result

    def run(self) -> ChatResult:
        """The whole answer, without streaming (raises what iterating raises)."""
        for _ in self:
            pass
        assert self.result is not None
        return self.result


def completion_stream(
    *,
    app: "App",
    messages: list[ChatMessage],
    model: str = "",
    character_slug: str | None = None,
    external_user_ref: str = "",
) -> CompletionStream:
    """Prepare a completion of ``messages``: with ``character_slug`` the character's sheet leads the prompt and
    the caller's messages follow as its conversation (system messages kept where they are), on ``model`` or
    else the character's; without, the messages go to ``model`` (or the default model) as they are.

    Raises CharacterNotFound (another app's slug too), CharacterNotPublished, ModelNotFound and BudgetExceeded
    (402) before any call; the reservation is committed before it."""
    content: dict = {}
    if character_slug is not None:
        character = character_selectors.character_published_get(app=app, slug=character_slug)
        content = character.current_version.content
    spec = llm_selectors.model_spec_get(name=model or content.get("model"))
    if character_slug is not None:
        history = [("character" if m.role == "assistant" else m.role, m.content) for m in messages]
        prompt = prompts.chat_messages(content, history)
    else:
        prompt = list(messages)
    subject = accounts_services.UsageSubject(
        app_id=app.pk,
        resource_type=ResourceType.CHAT_TURN,
        external_user_ref=external_user_ref,
        character=content.get("slug", "") if content else "",
        model=spec.name,
        provider=spec.provider,
        purpose=UsagePurpose.REPLY,
    )
    credits = spec.credits_upper_bound(prompt)
    reservation = accounts_services.usage_reserve(subject=subject, credits=credits, may_exist=False)
    return CompletionStream(metering.MeteredCall(subject, reservation, credits, spec), prompt)
