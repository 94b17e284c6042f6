"""Small real pictures for the backend tests."""

import io

from PIL import Image


def png(colour=(200, 30, 30), size=(64, 64)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def pixel(data: bytes, at=(0, 0)):
    with Image.open(io.BytesIO(data)) as picture:
        return picture.convert("RGB").getpixel(at)
