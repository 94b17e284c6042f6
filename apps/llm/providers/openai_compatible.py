"""Any server that speaks OpenAI's chat-completions protocol, through the official ``openai`` client.

Retries are left to the caller (the run pipeline retries with backoff and records each attempt), so
the client is built with ``max_retries=0``. Errors are sorted into transient (connection, timeout,
429, 5xx) and terminal (other 4xx, unusable bodies).
"""

import json
from collections.abc import Iterator
from functools import lru_cache

import openai

from apps.llm.errors import LLMTerminalError, LLMTransientError
from apps.llm.types import ChatMessage, ChatResult, ModelSpec, Usage


@lru_cache(maxsize=32)
def _client(base_url: str, api_key: str, timeout_seconds: float) -> openai.OpenAI:
    # One client per endpoint keeps its HTTP connection pool warm across turns.
    return openai.OpenAI(
        base_url=base_url or None, api_key=api_key or "not-needed", timeout=timeout_seconds, max_retries=0
    )


def _translate(error: openai.OpenAIError) -> Exception:
    if isinstance(error, openai.APITimeoutError | openai.APIConnectionError | openai.RateLimitError):
        return LLMTransientError(f"The model server did not answer in time or refused the connection: {error}")
    if isinstance(error, openai.APIStatusError):
        if error.status_code >= 500:
            return LLMTransientError(f"The model server failed with HTTP {error.status_code}.")
        return LLMTerminalError(f"The model server refused the request with HTTP {error.status_code}: {error.message}")
    return LLMTerminalError(f"The model server answered with something unusable: {error}")


class OpenAICompatibleProvider:
    def _create(self, spec: ModelSpec, messages: list[ChatMessage], **extra):
        client = _client(spec.base_url, spec.api_key, spec.timeout_seconds)
        try:
            return client.chat.completions.create(
                model=spec.upstream_model,
                messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=spec.max_tokens,
                **extra,
            )
        except openai.OpenAIError as error:
            raise _translate(error) from error

    def chat(self, spec: ModelSpec, messages: list[ChatMessage]) -> ChatResult:
        completion = self._create(spec, messages)
        if not completion.choices or completion.choices[0].message.content is None:
            raise LLMTerminalError("The model server answered without any message content.")
        usage = completion.usage
        return ChatResult(
            text=completion.choices[0].message.content,
            model=completion.model or spec.upstream_model,
            usage=Usage(
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
            ),
        )

    def chat_json(self, spec: ModelSpec, messages: list[ChatMessage]) -> ChatResult:
        completion = self._create(spec, messages, response_format={"type": "json_object"})
        content = completion.choices[0].message.content if completion.choices else None
        try:
            data = json.loads(content or "")
        except json.JSONDecodeError as error:
            raise LLMTerminalError("The model server was asked for JSON and answered with something else.") from error
        usage = completion.usage
        return ChatResult(
            text=content or "",
            model=completion.model or spec.upstream_model,
            usage=Usage(usage.prompt_tokens, usage.completion_tokens) if usage else Usage(),
            data=data,
        )

    def chat_stream(self, spec: ModelSpec, messages: list[ChatMessage]) -> Iterator[str]:
        stream = self._create(spec, messages, stream=True)
        try:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except openai.OpenAIError as error:
            raise _translate(error) from error
