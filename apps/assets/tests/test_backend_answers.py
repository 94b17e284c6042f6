"""What every HTTP backend accepts as a picture (``transport.picture``): only a whole PNG, JPEG or WebP
picture of sane size, with its real format and size reported."""

import io
import struct
import zlib

import pytest
from PIL import Image

from apps.assets.backends import transport
from apps.assets.errors import ImageBackendError
from apps.assets.tests.images_for_tests import png


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
