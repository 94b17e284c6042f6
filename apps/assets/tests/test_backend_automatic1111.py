"""The AUTOMATIC1111 / Forge client against a fake WebUI API on 127.0.0.1: what it sends (txt2img, img2img
with the identity as the init image), what it reads back, and how failures are classified."""

import base64

import pytest

from apps.assets import backends
from apps.assets.errors import ImageBackendError
from apps.assets.tests.images_for_tests import pixel, png
from apps.assets.types import ImageRequest
from apps.llm import selectors as llm_selectors
from apps.llm.types import ImageModelSpec
from tests.fakes.image_servers import colour_for, seed_for


def _spec(server, **fields) -> ImageModelSpec:
    defaults = {
        "name": "house-sd",
        "provider": "automatic1111",
        "base_url": server.base_url,
        "timeout_seconds": 5.0,
        "prompt_prefix": "photo, 35mm",
        "negative_prompt": "blurry",
        "steps": 20,
        "cfg_scale": 6.5,
    }
    return ImageModelSpec(**{**defaults, **fields})


def test_txt2img_sends_prefix_negative_random_seed_size_steps_and_reads_the_seed_back(fake_a1111):
    spec = _spec(fake_a1111, upstream_model="dreamshaper_8")
    request = ImageRequest("Luna at the beach", negative_prompt="text", width=640, height=512)

    image = backends.render(spec, request)

    (body,) = fake_a1111.txt2img_requests
    assert fake_a1111.img2img_requests == []
    assert body["prompt"] == "photo, 35mm, Luna at the beach"
    assert body["negative_prompt"] == "blurry, text"
    assert (body["seed"], body["width"], body["height"], body["steps"], body["cfg_scale"]) == (-1, 640, 512, 20, 6.5)
    assert (body["batch_size"], body["n_iter"], body["send_images"], body["save_images"]) == (1, 1, True, False)
    assert body["override_settings"] == {"sd_model_checkpoint": "dreamshaper_8"}
    assert (image.backend, image.content_type, image.width, image.height) == ("automatic1111", "image/png", 640, 512)
    assert image.seed == seed_for("photo, 35mm, Luna at the beach")  # the seed the server says it used
    assert pixel(image.data) == colour_for("photo, 35mm, Luna at the beach")


def test_the_requests_seed_wins_over_the_models_and_no_checkpoint_is_forced_without_an_upstream_model(fake_a1111):
    backends.render(_spec(fake_a1111, seed=42, prompt_prefix="", negative_prompt=""), ImageRequest("a", seed=7))
    image = backends.render(_spec(fake_a1111, seed=42), ImageRequest("b"))

    first, second = fake_a1111.txt2img_requests
    assert (first["seed"], first["prompt"], first["negative_prompt"]) == (7, "a", "")
    assert "override_settings" not in first
    assert second["seed"] == 42 and image.seed == 42


def test_a_reference_goes_to_img2img_as_the_init_image_with_a_denoising_strength(fake_a1111):
    face = png((10, 200, 10))
    request = ImageRequest("Luna in Paris", reference=face, reference_strength=0.35, width=512, height=768)

    image = backends.render(_spec(fake_a1111), request)

    assert fake_a1111.txt2img_requests == []
    (body,) = fake_a1111.img2img_requests
    assert base64.b64decode(body["init_images"][0]) == face
    assert body["denoising_strength"] == 0.65  # 1 - reference_strength
    assert (body["width"], body["height"]) == (512, 768)
    assert (image.width, image.height) == (512, 768)


def test_a_user_password_key_is_sent_as_basic_auth(fake_a1111):
    fake_a1111.required_auth = ("dramatis", "s3cret")

    image = backends.render(_spec(fake_a1111, api_key="dramatis:s3cret"), ImageRequest("ok"))
    assert image.width == 512
    with pytest.raises(ImageBackendError) as refused:
        backends.render(_spec(fake_a1111, api_key="dramatis:wrong"), ImageRequest("no"))
    assert not refused.value.transient and "401" in str(refused.value)
    assert "wrong" not in str(refused.value)


def test_a_slow_server_times_out_as_transient(fake_a1111):
    fake_a1111.set_mode("slow", delay_seconds=3)

    with pytest.raises(ImageBackendError) as failed:
        backends.render(_spec(fake_a1111, timeout_seconds=0.3), ImageRequest("x"))

    assert failed.value.transient and "in time" in str(failed.value)


def test_a_refused_connection_is_transient():
    spec = ImageModelSpec(name="gone", provider="automatic1111", base_url="http://127.0.0.1:9", timeout_seconds=2)

    with pytest.raises(ImageBackendError) as failed:
        backends.render(spec, ImageRequest("x"))

    assert failed.value.transient and "127.0.0.1" not in str(failed.value)


def test_the_catalogs_default_image_model_draws_through_the_dispatch(fake_a1111_model, fake_a1111):
    spec = llm_selectors.image_model_spec_get()

    image = backends.render(spec, ImageRequest("hello", width=spec.width, height=spec.height))

    assert (spec.name, spec.provider, spec.credits_per_image) == ("fake-sd", "automatic1111", 2)
    assert image.backend == "automatic1111" and len(fake_a1111.txt2img_requests) == 1
