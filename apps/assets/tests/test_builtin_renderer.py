"""The built-in renderer: offline, deterministic, the identity's face in the picture."""

import io

import pytest
from PIL import Image

from apps.assets import backends
from apps.assets.errors import ImageBackendError
from apps.assets.types import ImageRequest
from apps.llm import selectors as llm_selectors
from apps.llm.models import LLMModel
from apps.llm.types import ImageModelSpec


def _face(colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, format="PNG")
    return out.getvalue()


def test_the_same_request_draws_the_same_png_and_another_seed_another(db):
    spec = llm_selectors.image_model_spec_get()
    request = ImageRequest("a selfie at the beach", width=256, height=256, seed=7, reference=_face())
    first, again = backends.render(spec, request), backends.render(spec, request)
    other = backends.render(spec, ImageRequest("a selfie at the beach", width=256, height=256, seed=8))

    assert first.data == again.data and first.data != other.data
    assert (first.content_type, first.width, first.height, first.seed, first.backend) == (
        "image/png",
        256,
        256,
        7,
        "builtin",
    )
    with Image.open(io.BytesIO(first.data)) as picture:
        assert picture.size == (256, 256)
        assert picture.getpixel((128, 256 // 8 + 32)) == (200, 30, 30)  # the identity's face, framed in the middle


def test_the_picture_is_marked_as_a_stand_in_and_uses_the_palette_and_the_prefix():
    spec = ImageModelSpec(name="builtin", provider="builtin", prompt_prefix="watercolour")
    request = ImageRequest("a walk", width=320, height=240, seed=3, palette=("#102030", "#ffcc00"), label="Luna")

    image = backends.render(spec, request)
    plain = backends.render(ImageModelSpec(name="builtin", provider="builtin"), request)

    with Image.open(io.BytesIO(image.data)) as picture:
        band = {picture.getpixel((x, 9)) for x in range(0, 320)}
        assert (230, 190, 0) in band and (20, 20, 20) in band  # the hatched stand-in band across the top
        colours = {colour for _, colour in picture.getcolors(maxcolors=4096)}
        assert (16, 32, 48) in colours  # the palette's ground
    assert image.data != plain.data  # the prefix is written on the picture
    assert (image.width, image.height, image.seed) == (320, 240, 3)


def test_an_unreadable_reference_is_a_terminal_error():
    spec = ImageModelSpec(name="builtin", provider="builtin")

    with pytest.raises(ImageBackendError) as failed:
        backends.render(spec, ImageRequest("x", reference=b"not a picture"))

    assert not failed.value.transient


def test_every_image_provider_of_the_catalog_has_a_backend():
    assert set(backends.BACKENDS) == {str(provider) for provider in LLMModel.SD_PROVIDERS}
    with pytest.raises(ImageBackendError):
        backends.render(ImageModelSpec(name="x", provider="scripted"), ImageRequest("x"))
