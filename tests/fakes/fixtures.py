"""Pytest fixtures for the fake servers, registered from the root conftest so every app's tests can use them."""

import pytest

from tests.fakes.openai_server import DEFAULT_MODEL, FakeOpenAIServer

FAKE_LLM_API_KEY = "sk-fake-test-key"


@pytest.fixture(scope="session")
def _fake_llm_server():
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def fake_llm(_fake_llm_server, settings) -> FakeOpenAIServer:
    """A fake OpenAI-compatible server on 127.0.0.1 that the LLM_* settings point at, in ``instant`` mode.

    Switch behaviour with ``fake_llm.set_mode("flaky", fail_times=2)``; assert on ``fake_llm.requests``.
    The default model (``LLM_CHAT_MODEL``) is ``fake-chat``, served by the OpenAI-compatible provider.
    """
    _fake_llm_server.reset()
    settings.LLM_BASE_URL = _fake_llm_server.base_url
    settings.LLM_API_KEY = FAKE_LLM_API_KEY
    settings.LLM_CHAT_MODEL = DEFAULT_MODEL
    settings.LLM_TIMEOUT_SECONDS = 5.0
    yield _fake_llm_server
    _fake_llm_server.reset()
