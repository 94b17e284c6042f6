"""The provider interface every client implements."""

from collections.abc import Iterator
from typing import Protocol

from apps.llm.types import ChatMessage, ChatResult, ModelSpec, Usage


class Provider(Protocol):
    def chat(self, spec: ModelSpec, messages: list[ChatMessage]) -> ChatResult:
        """One completion. Raises LLMTransientError (retry) or LLMTerminalError (do not)."""

    def chat_json(self, spec: ModelSpec, messages: list[ChatMessage]) -> ChatResult:
        """One completion constrained to a JSON object; ``ChatResult.data`` holds the parsed object."""

    def chat_stream(self, spec: ModelSpec, messages: list[ChatMessage]) -> Iterator[str | Usage]:
        """Yield text deltas as the model produces them, then (when known) the call's Usage."""
