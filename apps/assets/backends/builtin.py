"""The built-in renderer: an offline, deterministic picture drawn with Pillow, so that selfies work on a machine
with nothing but Python. It is a development stand-in and says so on the picture.

The picture: a background in the character's palette (or colours hashed from the prompt), the identity
asset (``request.reference``) scaled into a framed portrait in the middle, the scene prompt written under
it, and a "built-in renderer" mark. The same request and seed always give the same bytes.
"""

import hashlib
import io
import random
import textwrap

from PIL import Image, ImageDraw, ImageOps

from apps.assets.types import ImageRequest, RenderedImage
from apps.llm.types import ImageModelSpec


def _colour(value: str, fallback: tuple[int, int, int]) -> tuple[int, int, int]:
    value = value.strip().lstrip("#")
    if len(value) == 6:
        try:
            return tuple(int(value[index : index + 2], 16) for index in (0, 2, 4))  # type: ignore[return-value]
        except ValueError:
            pass
    return fallback


def render(spec: ImageModelSpec, request: ImageRequest) -> RenderedImage:
    seed = request.seed if request.seed is not None else spec.seed
    if seed is None:
        seed = int.from_bytes(hashlib.sha256(request.prompt.encode()).digest()[:4], "big")
    rng = random.Random(seed)
    hashed = tuple(rng.randrange(40, 200) for _ in range(3))
    background = _colour(request.palette[0], hashed) if request.palette else hashed  # type: ignore[arg-type]
    accent = _colour(request.palette[1], (240, 240, 240)) if len(request.palette) > 1 else (240, 240, 240)
    width, height = request.width, request.height
    picture = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(picture)
    for _ in range(6):  # a few soft shapes, placed by the seed
        x, y = rng.randrange(width), rng.randrange(height)
        radius = rng.randrange(width // 10, width // 3)
        shade = tuple(min(255, channel + rng.randrange(10, 50)) for channel in background)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=shade)
    if request.reference:
        with Image.open(io.BytesIO(request.reference)) as reference:
            side = min(width, height) // 2
            portrait = ImageOps.fit(reference.convert("RGB"), (side, side))
        left, top = (width - side) // 2, height // 8
        draw.rectangle((left - 4, top - 4, left + side + 4, top + side + 4), fill=accent)
        picture.paste(portrait, (left, top))
    lines = textwrap.wrap(request.prompt, width=max(20, width // 9))[:4]
    text_top = height - 20 - 14 * (len(lines) + 1)
    for index, line in enumerate(lines):
        draw.text((12, text_top + 14 * index), line, fill=accent)
    draw.text((12, height - 20), "built-in renderer (development stand-in)", fill=accent)
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=False)
    return RenderedImage(out.getvalue(), "image/png", width, height, seed, "builtin")
