"""The ComfyUI client against a fake ComfyUI on 127.0.0.1: the workflow template filled (typed values where a
placeholder is a whole input), the reference uploaded first when the workflow loads it, the history polled
until the outputs appear (within the timeout), the picture fetched with /view, and failures classified."""

import pytest

from apps.assets import backends
from apps.assets.errors import ImageBackendError
from apps.assets.tests.images_for_tests import pixel, png
from apps.assets.types import ImageRequest
from apps.llm.types import ImageModelSpec
from tests.fakes.image_servers import colour_for

TEXT_TO_IMAGE = {
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": "{{seed}}",
            "steps": "{{steps}}",
            "cfg": "{{cfg}}",
            "denoise": "{{denoise}}",
            "sampler_name": "euler",
            "scheduler": "normal",
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
    },
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": "{{width}}", "height": "{{height}}", "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}, best quality", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{negative_prompt}}", "clip": ["4", 1]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "dramatis", "images": ["8", 0]}},
}
WITH_REFERENCE = {
    **TEXT_TO_IMAGE,
    "10": {"class_type": "LoadImage", "inputs": {"image": "{{reference_image}}"}},
}


def _spec(server, workflow=TEXT_TO_IMAGE, **fields) -> ImageModelSpec:
    defaults = {
        "name": "comfy",
        "provider": "comfyui",
        "base_url": server.base_url,
        "timeout_seconds": 5.0,
        "prompt_prefix": "anime style",
        "negative_prompt": "lowres",
        "steps": 24,
        "cfg_scale": 5.5,
        "workflow": workflow,
    }
    return ImageModelSpec(**{**defaults, **fields})


def test_the_workflow_is_filled_queued_polled_and_its_output_fetched(fake_comfyui):
    request = ImageRequest("Luna on a rooftop", negative_prompt="text", width=640, height=448, seed=1234)

    image = backends.render(_spec(fake_comfyui), request)

    (queued,) = [r for r in fake_comfyui.requests if r.path == "/prompt"]
    assert queued.body["client_id"]
    workflow = queued.body["prompt"]
    sampler = workflow["3"]["inputs"]
    assert (sampler["seed"], sampler["steps"], sampler["cfg"], sampler["denoise"]) == (1234, 24, 5.5, 1.0)
    assert workflow["5"]["inputs"] == {"width": 640, "height": 448, "batch_size": 1}  # numbers, not strings
    assert workflow["6"]["inputs"]["text"] == "anime style, Luna on a rooftop, best quality"
    assert workflow["7"]["inputs"]["text"] == "lowres, text"
    assert workflow["9"] == TEXT_TO_IMAGE["9"]  # untouched where there is no placeholder
    assert fake_comfyui.history_polls == 2  # empty on the first poll, the outputs on the second
    (view,) = [r for r in fake_comfyui.requests if r.path == "/view"]
    assert (view.query["subfolder"], view.query["type"]) == ("", "output")
    assert view.query["filename"].startswith("ComfyUI_") and view.query["filename"].endswith("_.png")
    assert [r.path for r in fake_comfyui.requests if r.path == "/upload/image"] == []
    assert (image.backend, image.width, image.height, image.seed) == ("comfyui", 640, 448, 1234)
    assert pixel(image.data) == colour_for("anime style, Luna on a rooftop, best quality")


def test_without_a_seed_a_fresh_one_is_chosen_and_reported(fake_comfyui):
    image = backends.render(_spec(fake_comfyui), ImageRequest("x"))

    (workflow,) = fake_comfyui.queued_workflows
    assert isinstance(image.seed, int) and workflow["3"]["inputs"]["seed"] == image.seed


def test_a_reference_is_uploaded_first_and_named_in_the_load_image_node(fake_comfyui):
    face = png((1, 2, 3))

    image = backends.render(_spec(fake_comfyui, WITH_REFERENCE), ImageRequest("Luna", reference=face))

    paths = [r.path for r in fake_comfyui.requests]
    assert paths.index("/upload/image") < paths.index("/prompt")
    (upload,) = [r for r in fake_comfyui.requests if r.path == "/upload/image"]
    assert (upload.body["type"], upload.body["overwrite"], upload.body["image"]["content_type"]) == (
        "input",
        "true",
        "image/png",
    )
    (name,) = fake_comfyui.uploads
    assert fake_comfyui.uploads[name] == face
    (workflow,) = fake_comfyui.queued_workflows
    assert workflow["10"]["inputs"]["image"] == name
    assert workflow["3"]["inputs"]["denoise"] == 0.65
    assert image.width == 512


def test_a_workflow_that_loads_a_reference_refuses_a_request_without_one(fake_comfyui):
    with pytest.raises(ImageBackendError) as refused:
        backends.render(_spec(fake_comfyui, WITH_REFERENCE), ImageRequest("Luna"))

    assert not refused.value.transient
    assert fake_comfyui.requests == []  # nothing was sent


def test_a_picture_not_ready_within_the_timeout_is_transient_and_polling_is_bounded(fake_comfyui):
    fake_comfyui.pending_polls = 10**6

    with pytest.raises(ImageBackendError) as late:
        backends.render(_spec(fake_comfyui, timeout_seconds=0.6), ImageRequest("x"))

    assert late.value.transient and "in time" in str(late.value)
    assert 2 <= fake_comfyui.history_polls <= 8  # 50 ms, doubling up to half a second


def test_a_failed_run_is_terminal(fake_comfyui):
    fake_comfyui.set_mode("workflow_error")

    with pytest.raises(ImageBackendError) as failed:
        backends.render(_spec(fake_comfyui), ImageRequest("x"))

    assert not failed.value.transient and "failed" in str(failed.value)


def test_the_servers_own_refusal_of_a_workflow_is_terminal_and_quoted(fake_comfyui):
    broken = {**TEXT_TO_IMAGE, "11": {"inputs": {}}}  # a node without class_type

    with pytest.raises(ImageBackendError) as refused:
        backends.render(_spec(fake_comfyui, broken), ImageRequest("x"))

    assert not refused.value.transient and "400" in str(refused.value) and "class_type" in str(refused.value)
