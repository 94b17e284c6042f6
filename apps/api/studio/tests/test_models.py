"""``GET models?type=llm|sd``: the catalog's chat and image models in the seed's shape."""

from decimal import Decimal

import pytest

from apps.api.studio.tests.conftest import assert_error
from apps.llm import services as llm_services
from apps.llm.models import LLMModel

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def catalog(db):
    llm_services.llm_model_save(
        model=LLMModel(
            name="fast-chat",
            type="llm",
            provider="scripted",
            prompt_credits_per_1k=Decimal("0.5"),
            completion_credits_per_1k=Decimal("1.5"),
        )
    )
    llm_services.llm_model_save(
        model=LLMModel(name="studio-sd", type="sd", provider="builtin", credits_per_image=Decimal("4"))
    )


def test_chat_models_are_listed_with_their_context_and_token_price(studio, catalog, settings):
    response = studio.get("models", params={"type": "llm"})

    assert response.status_code == 200
    models = {model["id"]: model for model in response.json()}
    assert {"fast-chat", "scripted"} <= set(models)
    fast = models["fast-chat"]
    assert fast["name"] == "fast-chat"
    assert fast["max_context"] == settings.LLM_CONTEXT_TOKENS
    assert fast["cost_per_1k_tokens"] == 1.5 and fast["input_cost_per_1k_tokens"] == 0.5
    assert "studio-sd" not in models  # an image model is never a chat model


def test_image_models_are_listed_with_their_price_per_picture(studio, catalog):
    response = studio.get("models", params={"type": "sd"})

    assert response.status_code == 200
    models = {model["id"]: model for model in response.json()}
    assert set(models) == {"studio-sd", "builtin"}
    assert models["studio-sd"]["cost_per_image"] == 4.0
    assert models["studio-sd"]["max_context"] is None and models["studio-sd"]["cost_per_1k_tokens"] is None


@pytest.mark.parametrize("params", [{}, {"type": "video"}, {"type": ""}])
def test_a_missing_or_unknown_type_is_400(studio, params):
    assert "type" in assert_error(studio.get("models", params=params), 400)


def test_without_a_key_it_is_401(anon_studio):
    response = anon_studio.get("models", params={"type": "llm"})
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
