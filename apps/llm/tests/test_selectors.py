"""Resolving model names: the admin's catalog first, then the LLM_* settings."""

import pytest

from apps.llm import selectors, services
from apps.llm.errors import ModelNotFound
from apps.llm.models import LLMModel
from apps.llm.tests.factories import llm_model_create
from apps.llm.types import ChatMessage


@pytest.fixture
def llm_settings(settings):
    settings.LLM_BASE_URL = "http://127.0.0.1:9/v1"
    settings.LLM_API_KEY = "sk-from-settings"
    settings.LLM_CHAT_MODEL = "settings-model"
    settings.LLM_TIMEOUT_SECONDS = 12.0
    settings.LLM_MAX_TOKENS = 99
    return settings


def test_without_a_catalog_the_default_comes_from_settings(db, llm_settings):
    spec = selectors.model_spec_get()

    assert (spec.name, spec.provider, spec.upstream_model) == ("settings-model", "openai_compatible", "settings-model")
    assert (spec.base_url, spec.api_key, spec.timeout_seconds, spec.max_tokens) == (
        "http://127.0.0.1:9/v1",
        "sk-from-settings",
        12.0,
        99,
    )
    assert selectors.model_spec_get(name="settings-model") == spec
    assert selectors.model_spec_get(name="scripted").provider == "scripted"


def test_the_default_catalog_row_wins_over_settings(db, llm_settings):
    llm_model_create(name="house", upstream_model="org/house-8b", is_default=True, timeout_seconds=7, max_tokens=50)
    llm_model_create(name="retired", is_default=False, is_active=False)

    spec = selectors.model_spec_get()

    assert (spec.name, spec.upstream_model, spec.timeout_seconds, spec.max_tokens) == ("house", "org/house-8b", 7, 50)
    # a row without its own endpoint and key uses the settings' ones
    assert (spec.base_url, spec.api_key) == ("http://127.0.0.1:9/v1", "sk-from-settings")


def test_an_inactive_default_row_is_ignored(db, llm_settings):
    llm_model_create(name="house", is_default=True, is_active=False)

    assert selectors.model_spec_get().name == "settings-model"
    with pytest.raises(ModelNotFound):
        selectors.model_spec_get(name="house")


def test_an_unknown_name_raises_model_not_found(db, llm_settings):
    with pytest.raises(ModelNotFound) as raised:
        selectors.model_spec_get(name="gpt-nonexistent")

    assert raised.value.code == "model_not_found"


def test_api_key_env_reads_the_key_from_the_environment_and_sends_it(db, fake_llm, monkeypatch):
    monkeypatch.setenv("DRAMATIS_TEST_PROVIDER_KEY", "sk-from-env")
    llm_model_create(
        name="env-keyed",
        upstream_model="fake-chat",
        base_url=fake_llm.base_url,
        api_key_env="DRAMATIS_TEST_PROVIDER_KEY",
    )

    spec = selectors.model_spec_get(name="env-keyed")
    services.chat(spec=spec, messages=[ChatMessage("user", "hi")])

    assert spec.api_key == "sk-from-env"
    assert fake_llm.requests[-1].authorization == "Bearer sk-from-env"
    assert fake_llm.requests[-1].body["model"] == "fake-chat"


def test_an_unset_api_key_env_gives_an_empty_key_not_the_settings_one(db, llm_settings, monkeypatch):
    monkeypatch.delenv("DRAMATIS_TEST_UNSET_KEY", raising=False)
    llm_model_create(name="env-keyed", api_key_env="DRAMATIS_TEST_UNSET_KEY")

    assert selectors.model_spec_get(name="env-keyed").api_key == ""


def test_the_catalog_is_read_once_and_a_save_reaches_the_next_lookup(db, django_assert_num_queries):
    llm_model_create(name="house", is_default=True)
    selectors.model_spec_get()
    with django_assert_num_queries(0):
        assert selectors.model_spec_get().name == "house"
        assert selectors.model_spec_get(name="house").name == "house"
    row = LLMModel.objects.get(name="house")
    row.max_tokens = 77
    services.llm_model_save(model=row)
    assert selectors.model_spec_get().max_tokens == 77
    services.llm_model_delete(model=row)
    assert selectors.model_spec_get().name != "house"
