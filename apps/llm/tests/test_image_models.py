"""Image models in the catalog (``type=sd`` rows): resolved by ``image_model_spec_get``, invisible to chat
lookups, one default per type, checked by ``clean`` (the admin and the service), cached like the catalog."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from apps.llm import selectors, services
from apps.llm.errors import ModelNotFound
from apps.llm.models import LLMModel
from apps.llm.tests.factories import image_model_create, llm_model_create

WORKFLOW = {
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}"}},
    "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0]}},
}


@pytest.fixture
def image_settings(settings):
    settings.LLM_BASE_URL = "http://127.0.0.1:9/v1"
    settings.LLM_API_KEY = "sk-llm-key"
    settings.LLM_CHAT_MODEL = "settings-model"
    settings.IMAGE_MODEL = "builtin"
    settings.IMAGE_WIDTH, settings.IMAGE_HEIGHT = 640, 480
    settings.IMAGE_CREDITS_PER_IMAGE = 3.0
    return settings


def test_without_image_rows_the_builtin_renderer_comes_from_settings(db, image_settings):
    spec = selectors.image_model_spec_get()

    assert (spec.name, spec.provider, spec.width, spec.height, spec.credits_per_image) == (
        "builtin",
        "builtin",
        640,
        480,
        3,
    )
    assert selectors.image_model_spec_get(name="builtin") == spec


def test_the_default_image_row_answers_with_all_its_fields(db, image_settings, monkeypatch):
    monkeypatch.setenv("DRAMATIS_TEST_SD_AUTH", "user:pw")
    image_model_create(
        name="house-sd",
        provider="automatic1111",
        upstream_model="dreamshaper_8",
        base_url="http://127.0.0.1:7860",
        api_key_env="DRAMATIS_TEST_SD_AUTH",
        timeout_seconds=30,
        prompt_prefix="photo",
        negative_prompt="blurry",
        seed=99,
        width=768,
        height=1024,
        steps=30,
        cfg_scale=5.0,
        credits_per_image="1.5",
        is_default=True,
    )

    spec = selectors.image_model_spec_get()

    assert spec.name == "house-sd" and spec.provider == "automatic1111"
    assert (spec.upstream_model, spec.base_url, spec.api_key, spec.timeout_seconds) == (
        "dreamshaper_8",
        "http://127.0.0.1:7860",
        "user:pw",
        30,
    )
    assert (spec.prompt_prefix, spec.negative_prompt, spec.seed, spec.width, spec.height) == (
        "photo",
        "blurry",
        99,
        768,
        1024,
    )
    assert (spec.steps, spec.cfg_scale, str(spec.credits_per_image)) == (30, 5.0, "1.5000")
    assert selectors.image_model_spec_get(name="builtin").provider == "builtin"  # still there by name


def test_only_openai_images_rows_fall_back_to_the_llm_endpoint_and_key(db, image_settings):
    image_model_create(name="sd", provider="automatic1111", base_url="http://127.0.0.1:7860")
    image_model_create(name="dalle", provider="openai_images")

    sd, dalle = selectors.image_model_spec_get(name="sd"), selectors.image_model_spec_get(name="dalle")

    assert (sd.api_key, sd.upstream_model) == ("", "")  # the LLM key never goes to an SD server
    assert (dalle.base_url, dalle.api_key, dalle.upstream_model) == ("http://127.0.0.1:9/v1", "sk-llm-key", "dalle")


def test_image_model_setting_can_name_a_catalog_row(db, image_settings):
    image_model_create(name="named-sd", provider="builtin", width=256, height=256)
    image_settings.IMAGE_MODEL = "named-sd"

    assert selectors.image_model_spec_get().width == 256
    image_settings.IMAGE_MODEL = "gone"
    with pytest.raises(ModelNotFound):
        selectors.image_model_spec_get()
    assert all(not rate.is_default for rate in selectors.image_rate_card_list())  # the rate card still answers


def test_chat_and_image_lookups_never_mix(db, image_settings):
    llm_model_create(name="house-chat", is_default=True)
    image_model_create(name="house-sd", provider="builtin", is_default=True)
    image_model_create(name="off-sd", provider="builtin", is_active=False)

    assert selectors.model_spec_get().name == "house-chat"
    with pytest.raises(ModelNotFound):
        selectors.model_spec_get(name="house-sd")
    with pytest.raises(ModelNotFound):
        selectors.image_model_spec_get(name="house-chat")
    with pytest.raises(ModelNotFound):
        selectors.image_model_spec_get(name="off-sd")
    assert [row.name for row in selectors.active_models()] == ["house-chat"]
    assert "house-sd" not in {rate.model for rate in selectors.rate_card_list()}
    assert [(rate.model, rate.is_default) for rate in selectors.image_rate_card_list()] == [
        ("house-sd", True),
        ("builtin", False),
    ]


def test_there_is_one_default_per_type(db):
    llm_model_create(name="house-chat", is_default=True)
    image_model_create(name="house-sd", provider="builtin", is_default=True)  # a default of the other type

    with pytest.raises(IntegrityError), transaction.atomic():
        image_model_create(name="second-sd", provider="builtin", is_default=True)


def test_the_database_refuses_a_provider_of_the_other_type(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        LLMModel.objects.create(name="odd", type="sd", provider="scripted")  # behind clean's back


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"type": "sd", "provider": "scripted"}, "provider"),
        ({"type": "llm", "provider": "comfyui"}, "provider"),
        ({"type": "sd", "provider": "automatic1111"}, "base_url"),
        ({"type": "sd", "provider": "builtin", "width": 20000}, "width"),
        ({"type": "sd", "provider": "comfyui", "base_url": "http://127.0.0.1:8188"}, "workflow"),
        (
            {"type": "sd", "provider": "comfyui", "base_url": "http://127.0.0.1:8188", "workflow": {"1": "x"}},
            "workflow",
        ),
        (
            {
                "type": "sd",
                "provider": "comfyui",
                "base_url": "http://127.0.0.1:8188",
                "workflow": {"6": {"class_type": "CLIPTextEncode", "inputs": {"text": "no placeholder"}}},
            },
            "workflow",
        ),
        (
            {
                "type": "sd",
                "provider": "comfyui",
                "base_url": "http://127.0.0.1:8188",
                "workflow": {**WORKFLOW, "7": {"class_type": "X", "inputs": {"v": "{{mystery}}"}}},
            },
            "workflow",
        ),
    ],
    ids=[
        "sd-with-chat-provider",
        "llm-with-image-provider",
        "a1111-without-server",
        "too-wide",
        "comfyui-without-workflow",
        "comfyui-not-api-format",
        "comfyui-without-prompt-placeholder",
        "comfyui-unknown-placeholder",
    ],
)
def test_the_service_refuses_rows_the_catalog_cannot_use(db, fields, field):
    with pytest.raises(ValidationError) as refused:
        services.llm_model_save(model=LLMModel(name="bad", **fields))

    assert field in refused.value.message_dict
    assert not LLMModel.objects.filter(name="bad").exists()


def test_a_comfyui_row_with_a_good_workflow_is_saved(db):
    row = image_model_create(name="comfy", provider="comfyui", base_url="http://127.0.0.1:8188", workflow=WORKFLOW)

    assert selectors.image_model_spec_get(name="comfy").workflow == WORKFLOW
    assert row.pk


def test_image_rows_are_cached_with_the_catalog_and_a_save_reaches_the_next_lookup(db, django_assert_num_queries):
    row = image_model_create(name="house-sd", provider="builtin", is_default=True, width=256)
    selectors.image_model_spec_get()
    with django_assert_num_queries(0):
        assert selectors.image_model_spec_get().width == 256
        assert selectors.model_spec_get().name  # the chat lookup shares the same cached read
        assert selectors.image_rate_card_list()
    row.width = 320
    services.llm_model_save(model=row)
    assert selectors.image_model_spec_get().width == 320


def _admin_form(admin_client, **fields) -> dict:
    form = admin_client.get(reverse("admin:llm_llmmodel_add")).context["adminform"].form
    data = {field.html_name: field.value() if field.value() is not None else "" for field in form}
    data.update(fields)
    return {key: value for key, value in data.items() if value is not False}


def test_the_admin_shows_the_validation_and_saves_nothing(admin_client, db):
    data = _admin_form(
        admin_client,
        name="comfy",
        type="sd",
        provider="comfyui",
        base_url="http://127.0.0.1:8188",
        workflow=json.dumps({"6": {"class_type": "CLIPTextEncode", "inputs": {"text": "no placeholder"}}}),
    )

    response = admin_client.post(reverse("admin:llm_llmmodel_add"), data)

    assert response.status_code == 200
    assert "{{prompt}}" in str(response.context["adminform"].form.errors["workflow"])
    assert not LLMModel.objects.filter(name="comfy").exists()


def test_the_admin_adds_an_image_model_that_the_next_lookup_sees(admin_client, db):
    selectors.image_model_spec_get()  # warm the cache: the admin's save must invalidate it
    data = _admin_form(
        admin_client,
        name="comfy",
        type="sd",
        provider="comfyui",
        base_url="http://127.0.0.1:8188",
        workflow=json.dumps(WORKFLOW),
        is_default="on",
    )

    response = admin_client.post(reverse("admin:llm_llmmodel_add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert selectors.image_model_spec_get().name == "comfy"
