"""What every HTTP backend shares: failures sorted into transient and terminal the same way against each fake
server, and what counts as a picture (``transport.picture``): only a whole PNG, JPEG or WebP picture of sane
size, with its real format and size reported."""

import io
import struct
import zlib

import pytest
from PIL import Image

from apps.assets import backends
from apps.assets.backends import transport
from apps.assets.errors import ImageBackendError
from apps.assets.tests.images_for_tests import png
from apps.assets.types import ImageRequest
from apps.llm.types import ImageModelSpec

FAKES = {"automatic1111": "fake_a1111", "comfyui": "fake_comfyui", "openai_images": "fake_openai_images"}
WORKFLOW = {"6": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}"}}}


@pytest.mark.parametrize("provider", sorted(FAKES))
@pytest.mark.parametrize(
    ("mode", "transient"),
    [
        ("fail", True),  # 500
        ("rate_limited", True),  # 429
        ("bad_request", False),  # the server's own 4xx refusal
        ("garbage", False),  # a 200 HTML page
        ("not_image", False),  # the protocol's answer, with bytes that are not a picture
    ],
)
def test_failures_are_transient_or_terminal_on_every_backend(request, provider, mode, transient):
    server = request.getfixturevalue(FAKES[provider])
    server.set_mode(mode)
    spec = ImageModelSpec(name="m", provider=provider, base_url=server.base_url, timeout_seconds=5, workflow=WORKFLOW)

    with pytest.raises(ImageBackendError) as failed:
        backends.render(spec, ImageRequest("x"))

    assert failed.value.transient is transient
    assert failed.value.code == "image_backend_failed"


def _encoded(format_name: str, size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (9, 9, 9)).save(out, format=format_name)
    return out.getvalue()


def _png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (a decompression bomb's signature)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))


@pytest.mark.parametrize(
    ("format_name", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_real_pictures_are_accepted_with_their_format_and_size(format_name, content_type):
    image = transport.picture(_encoded(format_name), backend="x", seed=1)

    assert (image.content_type, image.width, image.height, image.seed, image.backend) == (content_type, 40, 30, 1, "x")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<html>not an image</html>",
        png()[:60],  # truncated
        _encoded("GIF"),  # a picture, not one of ours
        _png_header_claiming(20000, 20000),  # far too large to decode
    ],
    ids=["empty", "text", "truncated-png", "gif", "bomb"],
)
def test_anything_else_is_refused_as_terminal(data):
    with pytest.raises(ImageBackendError) as refused:
        transport.picture(data, backend="x", seed=None)

    assert not refused.value.transient


def test_base64_must_be_base64():
    assert transport.base64_bytes("data:image/png;base64,aGk=", what="x") == b"hi"
    for value in ("***", "", None, 7):
        with pytest.raises(ImageBackendError):
            transport.base64_bytes(value, what="x")
