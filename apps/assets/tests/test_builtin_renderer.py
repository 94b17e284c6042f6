"""The built-in renderer: offline, deterministic, the identity's face in the picture."""

import io

from PIL import Image

from apps.assets import backends
from apps.assets.types import ImageRequest
from apps.llm import selectors as llm_selectors


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
