"""``GET /openai/v1/models`` and ``GET /openai/v1/models/{id}``: the app's published characters as
``character:<slug>``, then the catalog's chat and image models; another app's character is absent."""

import pytest

from apps.characters.models import Character
from apps.llm import services as llm_services
from apps.llm.models import LLMModel

pytestmark = pytest.mark.django_db

URL = "/openai/v1/models"


def test_the_list_has_the_apps_published_characters_then_the_catalog(api, owner, luna, theirs):
    Character.objects.create(app=owner.api_key.app, slug="draft", display_name="Draft")  # never published

    response = api.get(URL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["object"] == "list"
    ids = [model["id"] for model in body["data"]]
    assert ids[0] == "character:luna"
    assert "character:theirs" not in ids and "character:draft" not in ids
    assert {"scripted", "builtin"} <= set(ids)
    luna_model = body["data"][0]
    assert luna_model == {
        "id": "character:luna",
        "object": "model",
        "created": int(luna.created_at.timestamp()),
        "owned_by": owner.api_key.app.pk,
    }
    assert all(set(model) == {"id", "object", "created", "owned_by"} for model in body["data"])


def test_catalog_rows_are_listed_with_their_creation_time(api):
    row = llm_services.llm_model_save(model=LLMModel(name="fast-chat", provider=LLMModel.Provider.SCRIPTED))

    body = api.get(URL).json()

    (listed,) = [model for model in body["data"] if model["id"] == "fast-chat"]
    assert listed == {
        "id": "fast-chat",
        "object": "model",
        "created": int(row.created_at.timestamp()),
        "owned_by": "dramatis",
    }


def test_retrieve_a_character_and_a_catalog_model(api, luna):
    character = api.get(f"{URL}/character:luna")
    assert character.status_code == 200 and character.json()["id"] == "character:luna"
    catalog = api.get(f"{URL}/scripted")
    assert catalog.status_code == 200 and catalog.json() == {
        "id": "scripted",
        "object": "model",
        "created": 0,
        "owned_by": "dramatis",
    }


@pytest.mark.parametrize("model", ["character:theirs", "character:nobody", "character:", "gpt-99"])
def test_an_unknown_or_another_apps_model_is_model_not_found(api, theirs, model):
    response = api.get(f"{URL}/{model}")

    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "message": f"The model `{model}` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }


def test_the_models_need_a_key(anon, other_api, luna):
    response = anon.get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert "character:luna" not in [model["id"] for model in other_api.get(URL).json()["data"]]
