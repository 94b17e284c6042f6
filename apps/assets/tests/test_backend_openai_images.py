"""The OpenAI-compatible images client against a fake /v1/images/generations on 127.0.0.1: the request's
shape and key, the base64 answer decoded, a URL answer followed only on the model's own server, and
failures classified."""

import pytest

from apps.assets import backends
from apps.assets.errors import ImageBackendError
from apps.assets.tests.images_for_tests import pixel, png
from apps.assets.types import ImageRequest
from apps.llm.types import ImageModelSpec
from tests.fakes.image_servers import colour_for


def _spec(server, **fields) -> ImageModelSpec:
    defaults = {
        "name": "house-dalle",
        "provider": "openai_images",
        "upstream_model": "dall-e-3",
        "base_url": server.base_url,
        "api_key": "sk-images-test",
        "timeout_seconds": 5.0,
        "prompt_prefix": "digital painting",
        "negative_prompt": "blurry",
    }
    return ImageModelSpec(**{**defaults, **fields})


def test_the_request_carries_model_prompt_size_and_the_key_and_the_b64_answer_is_decoded(fake_openai_images):
    fake_openai_images.required_api_key = "sk-images-test"
    request = ImageRequest("Luna at dawn", negative_prompt="text", width=1024, height=768, seed=5, reference=png())

    image = backends.render(_spec(fake_openai_images), request)

    (received,) = fake_openai_images.requests
    assert received.path == "/v1/images/generations"
    assert received.authorization == "Bearer sk-images-test"
    # exactly these: no negative prompt, seed or reference (the API has no place for them)
    assert received.body == {
        "model": "dall-e-3",
        "prompt": "digital painting, Luna at dawn",
        "size": "1024x768",
        "n": 1,
        "response_format": "b64_json",
    }
    assert (image.backend, image.content_type, image.width, image.height, image.seed) == (
        "openai_images",
        "image/png",
        1024,
        768,
        None,
    )
    assert pixel(image.data) == colour_for("digital painting, Luna at dawn")


def test_a_wrong_key_is_terminal_and_not_quoted(fake_openai_images):
    fake_openai_images.required_api_key = "sk-right"

    with pytest.raises(ImageBackendError) as refused:
        backends.render(_spec(fake_openai_images, api_key="sk-wrong"), ImageRequest("x"))

    assert not refused.value.transient and "401" in str(refused.value) and "sk-wrong" not in str(refused.value)


def test_a_url_answer_on_the_models_own_server_is_fetched(fake_openai_images):
    fake_openai_images.set_mode("url")

    image = backends.render(_spec(fake_openai_images), ImageRequest("y", width=256, height=256))

    assert [r.path.split("/")[1] for r in fake_openai_images.requests] == ["v1", "files"]
    assert (image.width, image.height) == (256, 256)


def test_a_url_answer_on_another_host_is_refused_without_fetching_it(fake_openai_images):
    fake_openai_images.set_mode("foreign_url")

    with pytest.raises(ImageBackendError) as refused:
        backends.render(_spec(fake_openai_images, timeout_seconds=1.0), ImageRequest("z"))

    assert not refused.value.transient and "another host" in str(refused.value)
    assert len(fake_openai_images.requests) == 1  # the generation only


def test_without_an_upstream_model_the_models_name_is_sent(fake_openai_images):
    backends.render(_spec(fake_openai_images, upstream_model=""), ImageRequest("x"))

    assert fake_openai_images.requests[-1].body["model"] == "house-dalle"


def test_a_slow_server_times_out_as_transient(fake_openai_images):
    fake_openai_images.set_mode("slow", delay_seconds=3)

    with pytest.raises(ImageBackendError) as failed:
        backends.render(_spec(fake_openai_images, timeout_seconds=0.3), ImageRequest("x"))

    assert failed.value.transient
