"""Any server that speaks OpenAI's chat-completions protocol, through the official ``openai`` client.

Retries are left to the caller (the run pipeline retries with backoff and records each attempt), so
the client is built with ``max_retries=0``. Errors are sorted into transient (connection, timeout,
408/409/429, 5xx, a stream that breaks off) and terminal (other 4xx, unusable bodies such as a 200
without choices, an HTML page, or prose where JSON was asked for).

A caller's own key (``ModelSpec.ephemeral``, bring-your-own-key) is used on a client made for that one call
and closed after it (a stream's when the stream ends), never the cached one: the cache would keep the key in
memory after the request. The key never reaches an error message either: servers echo a refused key in
their error text, so it is cut out of what we report, and the client's exception (its body holds the text)
is not chained to ours.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import lru_cache

import openai
from openai.types.chat import ChatCompletion

from apps.llm.errors import LLMOwnKeyRefused, LLMTerminalError, LLMTransientError, LLMUnusableJSON
from apps.llm.types import ChatMessage, ChatResult, ModelSpec, Usage


@lru_cache(maxsize=32)
def _client(base_url: str, api_key: str, timeout_seconds: float) -> openai.OpenAI:
    # One client per endpoint keeps its HTTP connection pool warm across turns.
    return openai.OpenAI(
        base_url=base_url or None, api_key=api_key or "not-needed", timeout=timeout_seconds, max_retries=0
    )


@contextmanager
def _client_for(spec: ModelSpec) -> Iterator[openai.OpenAI]:
    """The cached client of the spec's endpoint, or for a caller's own key a fresh one, closed on the way out."""
    if not spec.ephemeral:
        yield _client(spec.base_url, spec.api_key, spec.timeout_seconds)
        return
    client = openai.OpenAI(
        base_url=spec.base_url or None, api_key=spec.api_key, timeout=spec.timeout_seconds, max_retries=0
    )
    try:
        yield client
    finally:
        client.close()


# The statuses the openai client itself would retry: request timeout, lock conflict, rate limit, server errors.
_TRANSIENT_STATUSES = {408, 409, 429}
REDACTED = "[redacted]"


def _redacted(text: str, spec: ModelSpec) -> str:
    return text.replace(spec.api_key, REDACTED) if spec.api_key else text


def _translate(error: openai.OpenAIError, spec: ModelSpec) -> Exception:
    if isinstance(error, openai.APITimeoutError | openai.APIConnectionError):
        message = f"The model server did not answer in time or refused the connection: {error}"
        return LLMTransientError(_redacted(message, spec))
    if isinstance(error, openai.APIStatusError):
        status, said = error.status_code, _redacted(error.message, spec)
        if status >= 500 or status in _TRANSIENT_STATUSES:
            return LLMTransientError(f"The model server is unavailable (HTTP {status}): {said}")
        if spec.ephemeral:
            message = f"The model provider refused the request made with your key (HTTP {status}): {said}"
            return LLMOwnKeyRefused(message, details={"upstream_status": status})
        return LLMTerminalError(f"The model server refused the request with HTTP {status}: {said}")
    return LLMTerminalError(_redacted(f"The model server answered with something unusable: {error}", spec))


def _raise_translated(error: openai.OpenAIError, spec: ModelSpec):
    """Raise ours for the client's ``error``; for a caller's own key without the client's error as its cause
    (that error's body is the server's text, which may hold the key)."""
    translated = _translate(error, spec)
    if spec.ephemeral:
        raise translated from None
    raise translated from error


def _usage(completion: ChatCompletion) -> Usage:
    usage = completion.usage
    if usage is None:  # optional for OpenAI-compatible servers (llama.cpp, some proxies)
        return Usage()
    return Usage(prompt_tokens=usage.prompt_tokens or 0, completion_tokens=usage.completion_tokens or 0)


def _content(completion: object) -> str:
    # Without strict validation the client hands back the raw text of a non-JSON 200 (an HTML proxy page).
    if not isinstance(completion, ChatCompletion):
        raise LLMTerminalError("The model server answered with something that is not a chat completion.")
    if not completion.choices or completion.choices[0].message.content is None:
        raise LLMTerminalError("The model server answered without any message content.")
    return completion.choices[0].message.content


def _chunk_content(chunk: dict) -> str:
    """The text a ``chat.completion.chunk`` adds ('' for role, finish and usage chunks)."""
    choices = chunk.get("choices")
    if not choices or not isinstance(choices[0], dict):
        return ""
    delta = choices[0].get("delta")
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""


class OpenAICompatibleProvider:
    def _create(self, client: openai.OpenAI, spec: ModelSpec, messages: list[ChatMessage], **extra):
        body = {
            "model": spec.upstream_model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": spec.max_tokens,
            **extra,
        }
        try:
            # The client's own POST, as ``chat.completions.create`` makes it, minus create's walk of the body
            # against the typed params: that walk cost ~3.5 ms of CPU per turn with 24 history messages,
            # about 40% of a worker's whole turn, for a body that is already plain JSON.
            return client.post(
                "/chat/completions",
                body=body,
                cast_to=ChatCompletion,
                stream=bool(extra.get("stream")),
                # Chunks as the plain dicts the server sent: building a typed chunk object per token was ~40%
                # of a streamed reply's CPU in the client, for three fields read once each.
                stream_cls=openai.Stream[object],
            )
        except openai.OpenAIError as error:
            _raise_translated(error, spec)

    def key_check(self, spec: ModelSpec) -> str:
        """One minimal call (a one-token reply) to learn whether the server takes the spec's key and model;
        the model that answered. Raises as ``chat`` does; a 200 of any shape counts as the key accepted (a
        one-token reply may well come back without content)."""
        with _client_for(spec) as client:
            completion = self._create(client, replace(spec, max_tokens=1), [ChatMessage("user", "Say OK.")])
        answered = completion.model if isinstance(completion, ChatCompletion) else ""
        return answered or spec.upstream_model

    def chat(self, spec: ModelSpec, messages: list[ChatMessage]) -> ChatResult:
        with _client_for(spec) as client:
            completion = self._create(client, spec, messages)
        text = _content(completion)
        return ChatResult(text=text, model=completion.model or spec.upstream_model, usage=_usage(completion))

    def chat_json(self, spec: ModelSpec, messages: list[ChatMessage]) -> ChatResult:
        with _client_for(spec) as client:
            completion = self._create(client, spec, messages, response_format={"type": "json_object"})
        text = _content(completion)
        result = ChatResult(text=text, model=completion.model or spec.upstream_model, usage=_usage(completion))
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            message = "The model server was asked for JSON and answered with something else."
            raise LLMUnusableJSON(message, result=result) from error
        if not isinstance(data, dict):
            message = "The model server was asked for a JSON object and answered with another value."
            raise LLMUnusableJSON(message, result=result)
        return replace(result, data=data)

    def chat_stream(self, spec: ModelSpec, messages: list[ChatMessage]) -> Iterator[str | Usage]:
        """Yield deltas, then the usage when the server reports it (asked for with ``stream_options``; servers
        that do not know the option ignore it or send no usage chunk). A stream that breaks after it started
        raises LLMTransientError: the server accepted the request, so a retry may succeed; the caller decides
        what to do with the deltas it already has."""
        with _client_for(spec) as client:
            stream = self._create(client, spec, messages, stream=True, stream_options={"include_usage": True})
            chunks = 0
            try:
                for chunk in stream:
                    chunks += 1
                    if not isinstance(chunk, dict):
                        raise LLMTerminalError("The model server's stream sent something that is not a chunk.")
                    if content := _chunk_content(chunk):
                        yield content
                    if usage := chunk.get("usage"):  # vLLM sends it with ``choices: null``
                        yield Usage(
                            prompt_tokens=usage.get("prompt_tokens") or 0,
                            completion_tokens=usage.get("completion_tokens") or 0,
                        )
            except openai.APIError as error:
                broke = LLMTransientError(_redacted(f"The model server's stream broke off: {error}", spec))
                raise broke from (None if spec.ephemeral else error)
            except openai.OpenAIError as error:
                _raise_translated(error, spec)
            finally:
                stream.close()  # give the connection back to the pool even when the consumer stops early
        if not chunks:
            raise LLMTerminalError("The model server was asked for a stream and answered without any events.")
