"""A caller's own provider key (bring-your-own-key): where its calls go, that no client or cache keeps the key,
that no error repeats it, and the key check. Against the fake OpenAI server over real HTTP."""

import gc
import traceback

import openai
import pytest

from apps.llm import selectors, services
from apps.llm.errors import LLMOwnKeyRefused, LLMTerminalError, LLMTransientError
from apps.llm.providers import openai_compatible
from apps.llm.types import ChatMessage, ModelOverride
from tests.fakes.fixtures import FAKE_LLM_API_KEY

KEY = "sk-own-key-7d1f2a9c0b"
MESSAGES = [ChatMessage("system", "You are Luna."), ChatMessage("user", "hello there")]


@pytest.fixture
def closes(monkeypatch) -> list[str]:
    """The api keys of the openai clients closed (the real ``close``, counted)."""
    closed: list[str] = []
    close = openai.OpenAI.close

    def counted(client):
        closed.append(client.api_key)
        return close(client)

    monkeypatch.setattr(openai.OpenAI, "close", counted)
    return closed


def _spec(model: str = "their-model"):
    return selectors.model_spec_byok(override=ModelOverride(api_key=KEY, model=model))


def _live_clients_with(key: str) -> list[openai.OpenAI]:
    gc.collect()
    # ``type`` rather than ``isinstance``: the heap may hold dead weak proxies, which raise on isinstance.
    return [o for o in gc.get_objects() if type(o) is openai.OpenAI and o.api_key == key]


def test_an_own_key_call_goes_to_the_byok_server_on_a_client_closed_after_it(db, byok_llm, closes):
    cached = openai_compatible._client.cache_info().currsize
    spec = _spec()
    assert spec.ephemeral and spec.base_url == byok_llm.base_url
    assert (spec.input_credits_per_1k, spec.output_credits_per_1k) == (0, 0)
    assert KEY not in repr(spec)

    services.chat(spec=spec, messages=MESSAGES)
    services.chat_json(spec=spec, messages=MESSAGES)
    stream = services.ChatStream(spec, MESSAGES)
    assert "".join(stream) == stream.result.text

    sent = [(r.authorization, r.body["model"]) for r in byok_llm.chat_requests]
    assert sent == [(f"Bearer {KEY}", "their-model")] * 3
    assert closes == [KEY] * 3  # the stream's client too, once the stream ended
    assert openai_compatible._client.cache_info().currsize == cached
    assert _live_clients_with(KEY) == []


def test_a_stream_left_early_still_closes_its_client(db, byok_llm, closes):
    deltas = iter(services.chat_stream(spec=_spec(), messages=MESSAGES))
    next(deltas)
    deltas.close()
    assert closes == [KEY]


def test_the_platform_key_keeps_its_cached_client(db, fake_llm, closes):
    spec = selectors.model_spec_get()
    services.chat(spec=spec, messages=MESSAGES)
    services.chat(spec=spec, messages=MESSAGES)
    assert closes == [] and not spec.ephemeral
    assert {r.client_port for r in fake_llm.chat_requests} == {fake_llm.chat_requests[0].client_port}  # one connection


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_own_key_is_the_callers_error_and_never_repeated(db, byok_llm, status):
    if status == 401:
        byok_llm.required_api_key = "sk-something-else"
    else:
        byok_llm.forbidden_api_keys = {KEY}

    with pytest.raises(LLMOwnKeyRefused) as refused:
        services.chat(spec=_spec(), messages=MESSAGES)

    assert (refused.value.status, refused.value.details) == (400, {"upstream_status": status})
    assert f"HTTP {status}" in refused.value.message and "[redacted]" in refused.value.message
    assert refused.value.__cause__ is None
    assert KEY not in "".join(traceback.format_exception(refused.value))


def test_a_refused_platform_key_stays_a_502_and_is_not_repeated_either(db, fake_llm):
    fake_llm.required_api_key = "sk-the-right-one"
    with pytest.raises(LLMTerminalError) as refused:
        services.chat(spec=selectors.model_spec_get(), messages=MESSAGES)
    assert type(refused.value) is LLMTerminalError and refused.value.status == 502
    assert FAKE_LLM_API_KEY not in refused.value.message and "HTTP 401" in refused.value.message


def test_the_key_check_makes_one_one_token_call(db, byok_llm):
    check = services.llm_key_check(spec=_spec("gpt-check"))

    assert (check.valid, check.model, check.error) == (True, "gpt-check", "")
    [request] = byok_llm.requests
    assert request.authorization == f"Bearer {KEY}"
    assert (request.body["model"], request.body["max_tokens"]) == ("gpt-check", 1)


def test_the_key_check_without_a_model_uses_the_byok_default(db, byok_llm, settings):
    settings.LLM_BYOK_DEFAULT_MODEL = "house-default"
    check = services.llm_key_check(spec=selectors.model_spec_byok(override=ModelOverride(api_key=KEY)))
    assert check.valid and check.model == "house-default"
    assert byok_llm.requests[0].body["model"] == "house-default"


def test_a_refused_key_checks_invalid_with_the_reason_and_without_the_key(db, byok_llm):
    byok_llm.required_api_key = "sk-something-else"
    check = services.llm_key_check(spec=_spec())
    assert not check.valid and "HTTP 401" in check.error and KEY not in check.error


def test_an_unreachable_provider_is_no_answer_about_the_key(db, settings):
    settings.LLM_BYOK_BASE_URL = "http://127.0.0.1:9/v1"
    with pytest.raises(LLMTransientError):
        services.llm_key_check(spec=_spec())


def test_the_platform_key_is_not_for_checking(db, fake_llm):
    with pytest.raises(LLMTerminalError):
        services.llm_key_check(spec=selectors.model_spec_get())
    assert fake_llm.requests == []
