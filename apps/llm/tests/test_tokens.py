"""Token counts for the prompt budget: a real tokenizer that loads with no network, and the budget's arithmetic."""

import subprocess
import sys
import textwrap
from pathlib import Path

from apps.llm import selectors, services
from apps.llm import tokens as token_module
from apps.llm.types import ChatMessage, ModelSpec

ROOT = Path(__file__).resolve().parents[3]


def test_the_tokenizer_loads_and_counts_with_the_network_cut_off(tmp_path):
    """In a fresh process whose sockets refuse to connect and whose tiktoken cache is empty, the encoding loads
    from the installed package and counts as cl100k_base does."""
    script = textwrap.dedent(
        """
        import os, socket, sys
        def refuse(*args, **kwargs):
            raise OSError("the network is off in this test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        import django
        django.setup()
        from apps.llm import tokens
        print(tokens.tokenizer_name(), tokens.tokens_count("hello world"), tokens.tokens_count("Dramatis remembers."))
        """
    )
    environment = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "DJANGO_SECRET_KEY": "test-only-secret-key",
        "TIKTOKEN_CACHE_DIR": str(tmp_path),
        "HOME": str(tmp_path),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    name, hello, other = done.stdout.split()
    assert name == "cl100k_base"
    assert int(hello) == 2  # "hello", " world"
    assert 3 <= int(other) <= 6


def test_counts_are_the_encodings_and_messages_add_their_framing():
    assert selectors.tokens_count("") == 0
    assert selectors.tokens_count("hello world") == 2
    messages = [ChatMessage("system", "hello world"), ChatMessage("user", "hello world")]
    assert (
        selectors.messages_tokens(messages)
        == 2 * (2 + token_module.TOKENS_PER_MESSAGE) + token_module.TOKENS_PER_PROMPT
    )


def test_without_the_encoding_counting_falls_back_to_characters(monkeypatch):
    monkeypatch.setattr(token_module, "_encoder", None)
    monkeypatch.setattr(token_module, "_encoder_failed", True)
    token_module.tokens_count.cache_clear()
    try:
        assert token_module.tokenizer_name() == "chars/3"
        assert token_module.tokens_count("x" * 30) == 10
    finally:
        token_module.tokens_count.cache_clear()


def _spec(**fields) -> ModelSpec:
    return ModelSpec(name=fields.pop("name", "budget-test"), provider="scripted", upstream_model="m", **fields)


def test_the_budget_is_the_context_less_the_reply_capped_and_less_the_margin(settings):
    settings.LLM_PROMPT_TOKENS = 100_000
    settings.LLM_TOKEN_MARGIN = 0.1
    assert selectors.prompt_budget(_spec(context_tokens=4096, max_tokens=96)) == 3600
    settings.LLM_CONTEXT_TOKENS = 2096
    assert selectors.prompt_budget(_spec(context_tokens=0, max_tokens=96)) == 1800  # the setting's context
    settings.LLM_PROMPT_TOKENS = 1000
    assert selectors.prompt_budget(_spec(context_tokens=4096, max_tokens=96)) == 900


def test_a_provider_that_counts_more_than_we_do_shrinks_that_models_budget(settings, monkeypatch):
    monkeypatch.setattr(token_module, "_corrections", {})
    settings.LLM_PROMPT_TOKENS = 1000
    settings.LLM_TOKEN_MARGIN = 0.0
    spec = _spec(name="counts-more", context_tokens=8192)
    services.usage_observe(model="counts-more", estimated=1000, reported=1250)
    assert selectors.prompt_budget(spec) == 800
    services.usage_observe(model="other", estimated=1000, reported=500)  # fewer: never a bigger budget
    assert selectors.prompt_budget(_spec(name="other", context_tokens=8192)) == 1000
    services.usage_observe(model="counts-more", estimated=0, reported=100)  # nothing learnt from no estimate
    assert token_module.tokens_correction(model="counts-more") == 1.25
