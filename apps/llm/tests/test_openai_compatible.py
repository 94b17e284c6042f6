"""The OpenAI-compatible provider through ``llm.services``, against a fake OpenAI server over real HTTP."""

from dataclasses import replace

import pytest

from apps.llm import selectors, services
from apps.llm.errors import LLMTerminalError, LLMTransientError
from apps.llm.tests.factories import llm_model_create
from apps.llm.types import ChatMessage
from tests.fakes.fixtures import FAKE_LLM_API_KEY
from tests.fakes.openai_server import reply_for

MESSAGES = [
    ChatMessage("system", "You are Luna. Stay in character."),
    ChatMessage("assistant", "Hi, I'm Luna."),
    ChatMessage("user", "what are you doing tonight?"),
]
WIRE_MESSAGES = [{"role": m.role, "content": m.content} for m in MESSAGES]


@pytest.fixture
def spec(db, fake_llm):
    return selectors.model_spec_get()


def test_chat_returns_text_usage_and_model_and_sends_the_prompt_with_the_key(spec, fake_llm, settings):
    result = services.chat(spec=spec, messages=MESSAGES)

    assert result.text == reply_for(WIRE_MESSAGES)
    assert result.text == "Luna here, you said: what are you doing tonight. Tell me more about it?"
    assert result.model == "fake-chat"
    prompt_words = sum(len(m.content.split()) for m in MESSAGES)
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (prompt_words, len(result.text.split()))
    [request] = fake_llm.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.authorization == f"Bearer {FAKE_LLM_API_KEY}"
    assert request.body["model"] == "fake-chat"
    assert request.body["messages"] == WIRE_MESSAGES
    assert request.body["max_tokens"] == settings.LLM_MAX_TOKENS
    assert "stream" not in request.body and "response_format" not in request.body


def test_chat_json_asks_for_a_json_object_and_parses_it(spec, fake_llm):
    result = services.chat_json(spec=spec, messages=MESSAGES)

    assert result.data == {"reply": reply_for(WIRE_MESSAGES), "mood": "curious"}
    assert result.usage.completion_tokens > 0
    assert fake_llm.requests[-1].body["response_format"] == {"type": "json_object"}


def test_chat_stream_yields_the_deltas_in_order(spec, fake_llm):
    deltas = list(services.chat_stream(spec=spec, messages=MESSAGES))

    expected = reply_for(WIRE_MESSAGES)
    assert len(deltas) == len(expected.split(" ")) and deltas[0] == "Luna"
    assert "".join(deltas) == expected
    assert fake_llm.requests[-1].body["stream"] is True


def test_slow_server_beyond_the_catalog_timeout_is_transient(db, fake_llm):
    llm_model_create(name="impatient", upstream_model="fake-chat", timeout_seconds=0.2)
    fake_llm.set_mode("slow", delay_seconds=5)
    spec = selectors.model_spec_get(name="impatient")

    with pytest.raises(LLMTransientError, match="did not answer in time"):
        services.chat(spec=spec, messages=MESSAGES)
    assert len(fake_llm.chat_requests) == 1  # the client does not retry by itself: the pipeline does


@pytest.mark.parametrize(
    ("mode", "error", "code"),
    [
        ("fail", LLMTransientError, "llm_unavailable"),
        ("rate_limited", LLMTransientError, "llm_unavailable"),
        ("bad_request", LLMTerminalError, "llm_error"),
    ],
)
def test_http_errors_are_sorted_into_transient_and_terminal(spec, fake_llm, mode, error, code):
    fake_llm.set_mode(mode)

    with pytest.raises(error) as raised:
        services.chat(spec=spec, messages=MESSAGES)
    assert raised.value.code == code
    assert len(fake_llm.chat_requests) == 1  # max_retries=0: exactly one upstream call per attempt


def test_bad_request_message_carries_the_servers_explanation(spec, fake_llm):
    fake_llm.set_mode("bad_request")

    with pytest.raises(LLMTerminalError, match="HTTP 400.*does not exist"):
        services.chat(spec=spec, messages=MESSAGES)


def test_wrong_key_is_terminal(spec, fake_llm):
    fake_llm.required_api_key = "sk-the-right-one"

    with pytest.raises(LLMTerminalError, match="HTTP 401"):
        services.chat(spec=spec, messages=MESSAGES)


def test_flaky_server_fails_then_answers(spec, fake_llm):
    fake_llm.set_mode("flaky", fail_times=1)

    with pytest.raises(LLMTransientError):
        services.chat(spec=spec, messages=MESSAGES)
    assert services.chat(spec=spec, messages=MESSAGES).text == reply_for(WIRE_MESSAGES)


@pytest.mark.parametrize(
    ("mode", "call", "message"),
    [
        ("not_json", services.chat_json, "asked for JSON"),
        ("empty_choices", services.chat, "without any message content"),
        ("empty_choices", services.chat_json, "without any message content"),
        ("garbage", services.chat, "not a chat completion"),
        ("garbage", services.chat_json, "not a chat completion"),
    ],
)
def test_unusable_answers_are_terminal(spec, fake_llm, mode, call, message):
    fake_llm.set_mode(mode)

    with pytest.raises(LLMTerminalError, match=message):
        call(spec=spec, messages=MESSAGES)


def test_a_completion_without_usage_counts_zero_tokens(spec, fake_llm):
    fake_llm.set_mode("no_usage")

    result = services.chat(spec=spec, messages=MESSAGES)

    assert result.text and (result.usage.prompt_tokens, result.usage.completion_tokens) == (0, 0)


@pytest.mark.parametrize("mode", ["stream_cut", "stream_error"])
def test_a_stream_that_breaks_off_midway_is_transient_after_the_first_deltas(spec, fake_llm, mode):
    fake_llm.set_mode(mode)
    received = []

    with pytest.raises(LLMTransientError, match="stream broke off"):
        for delta in services.chat_stream(spec=spec, messages=MESSAGES):
            received.append(delta)
    assert received == ["Luna", " here,"]


def test_a_stream_request_answered_with_a_non_stream_is_terminal(spec, fake_llm):
    fake_llm.set_mode("garbage")

    with pytest.raises(LLMTerminalError, match="without any events"):
        list(services.chat_stream(spec=spec, messages=MESSAGES))


def test_calls_with_the_same_endpoint_reuse_one_client_and_its_connection(spec, fake_llm):
    services.chat(spec=spec, messages=MESSAGES)
    services.chat(spec=spec, messages=MESSAGES)
    list(services.chat_stream(spec=spec, messages=MESSAGES))
    services.chat(spec=replace(spec, timeout_seconds=spec.timeout_seconds + 1), messages=MESSAGES)

    ports = [request.client_port for request in fake_llm.requests]
    # One keep-alive connection. (The sync openai Stream stops reading at [DONE] without draining the body,
    # so the connection a stream used is not reused afterwards: an SDK limitation, not asserted here.)
    assert ports[0] == ports[1] == ports[2]
    assert ports[3] != ports[0]  # another timeout is another client with its own pool


def test_stream_chunks_are_read_as_plain_dicts_whatever_the_server_leaves_out():
    from apps.llm.providers.openai_compatible import _chunk_content

    assert _chunk_content({"choices": [{"index": 0, "delta": {"content": "hi"}}]}) == "hi"
    assert _chunk_content({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}) == ""
    assert _chunk_content({"choices": None, "usage": {"prompt_tokens": 3}}) == ""  # vLLM's usage chunk
    assert _chunk_content({"choices": [], "usage": {"prompt_tokens": 3}}) == ""
    assert _chunk_content({"choices": [{"delta": None, "finish_reason": "stop"}]}) == ""
    assert _chunk_content({"choices": [{"delta": {"content": None}}]}) == ""
