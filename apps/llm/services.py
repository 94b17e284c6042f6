"""Calling models: pick the provider for a spec and run chat, JSON chat or a token stream."""

from collections.abc import Iterator

from django.db import transaction

from apps.llm.errors import LLMOwnKeyRefused, LLMTerminalError
from apps.llm.models import LLMModel
from apps.llm.providers.openai_compatible import OpenAICompatibleProvider
from apps.llm.providers.scripted import ScriptedProvider
from apps.llm.selectors import CATALOG
from apps.llm.tokens import usage_observe as usage_observe  # what a provider's reported usage teaches the counts
from apps.llm.types import ChatMessage, ChatResult, KeyCheck, ModelSpec, Usage, input_tokens_upper_bound

_PROVIDERS = {"scripted": ScriptedProvider(), "openai_compatible": OpenAICompatibleProvider()}


def _provider(spec: ModelSpec):
    return _PROVIDERS[spec.provider]


def chat(*, spec: ModelSpec, messages: list[ChatMessage]) -> ChatResult:
    """One completion. Raises LLMTransientError (retry later) or LLMTerminalError."""
    return _provider(spec).chat(spec, messages)


def chat_json(*, spec: ModelSpec, messages: list[ChatMessage]) -> ChatResult:
    """One completion parsed as a JSON object into ``ChatResult.data``."""
    return _provider(spec).chat_json(spec, messages)


def chat_stream(*, spec: ModelSpec, messages: list[ChatMessage]) -> Iterator[str]:
    """Text deltas as the model produces them."""
    return (item for item in _provider(spec).chat_stream(spec, messages) if isinstance(item, str))


class ChatStream:
    """One streamed completion: iterate it for the text deltas as the model produces them; once it is
    exhausted, ``result`` is the whole reply with its usage (the provider's count when it reports one, else an
    estimate: the prompt's upper bound and four characters a token of reply). Errors are the provider's
    (LLMTransientError, LLMTerminalError), raised where the stream breaks."""

    def __init__(self, spec: ModelSpec, messages: list[ChatMessage]) -> None:
        self.spec = spec
        self.messages = messages
        self.result: ChatResult | None = None

    def __iter__(self) -> Iterator[str]:
        parts: list[str] = []
        usage: Usage | None = None
        for item in _provider(self.spec).chat_stream(self.spec, self.messages):
            if isinstance(item, Usage):
                usage = item
            elif item:
                parts.append(item)
                yield item
        text = "".join(parts)
        if usage is None:
            usage = Usage(input_tokens_upper_bound(self.messages), (len(text) + 3) // 4)
        self.result = ChatResult(text=text, model=self.spec.upstream_model, usage=usage)


def llm_key_check(*, spec: ModelSpec) -> KeyCheck:
    """Make one minimal call (a one-token reply) with a caller's own key (``selectors.model_spec_byok``).

    A provider that refuses it (a bad or revoked key, a model the key may not use) is an answer, not an error:
    ``KeyCheck(valid=False)`` with the provider's reason, the key cut out. Raises LLMTransientError when the
    provider cannot be reached (or is down, or rate-limits), since then nothing is known about the key, and
    LLMTerminalError for a spec that is not a caller's own key (the platform's keys are not for checking).
    """
    if not spec.ephemeral:
        raise LLMTerminalError("Only a caller's own key is checked.")
    try:
        model = _PROVIDERS[LLMModel.Provider.OPENAI_COMPATIBLE].key_check(spec)
    except LLMOwnKeyRefused as refused:
        return KeyCheck(valid=False, model=spec.upstream_model, error=refused.message)
    return KeyCheck(valid=True, model=model)


# --- the catalog ----------------------------------------------------------------------------------------
@transaction.atomic
def llm_model_save(*, model: LLMModel) -> LLMModel:
    """Create or change a catalog row (the admin's save). Every process sees it at its next lookup.

    Raises django's ValidationError for a row the catalog cannot use (``LLMModel.clean``: an image row with a
    chat provider, a ComfyUI row without a usable workflow...), so no writer can bypass the admin's checks."""
    model.full_clean(validate_unique=False, validate_constraints=False)  # the database holds those two
    model.save()
    CATALOG.bump()
    return model


@transaction.atomic
def llm_model_delete(*, model: LLMModel) -> None:
    model.delete()
    CATALOG.bump()


def llm_models_changed() -> None:
    """Tell every process the catalog changed; for writers that bypass ``llm_model_save`` (bulk updates)."""
    CATALOG.bump()
