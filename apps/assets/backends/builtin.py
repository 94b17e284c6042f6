"""The built-in renderer: an offline, deterministic picture drawn with Pillow, so that selfies work on a machine
with nothing but Python. It is a development stand-in and says so on the picture.

The picture: a background in the character's palette (``request.palette``: the first colour the ground, the
second the accent; colours drawn from the seed where it has none), a few soft shapes placed by the seed, the
identity asset (``request.reference``) cropped into a framed portrait in the middle with the character's name
(``request.label``) under it, the scene prompt (the model's prefix first) written below, and a hatched
"development stand-in" band across the top. The same request and seed always give the same bytes; without a
seed, the seed is derived from the prompt so that it still does.

Fast by design (a 512x512 picture in a few milliseconds): large references are reduced before cropping, and
the PNG is written with light compression.
"""

import hashlib
import io
import random
import textwrap

from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from apps.assets.errors import ImageBackendError
from apps.assets.types import ImageRequest, RenderedImage
from apps.llm.types import ImageModelSpec

STAND_IN_MARK = "DEVELOPMENT STAND-IN - built-in renderer"
_WHITE = (240, 240, 240)


def _colour(value: str, fallback: tuple[int, int, int]) -> tuple[int, int, int]:
    value = value.strip().lstrip("#")
    if len(value) == 6:
        try:
            return tuple(int(value[index : index + 2], 16) for index in (0, 2, 4))  # type: ignore[return-value]
        except ValueError:
            pass
    return fallback


def _seed(spec: ImageModelSpec, request: ImageRequest) -> int:
    seed = request.seed if request.seed is not None else spec.seed
    if seed is None:
        seed = int.from_bytes(hashlib.sha256(request.prompt.encode()).digest()[:4], "big")
    return seed


def _portrait(reference: bytes, side: int) -> Image.Image:
    """The identity asset cropped to a ``side`` square; an unreadable reference is the caller's error, not
    something a retry fixes."""
    try:
        with Image.open(io.BytesIO(reference)) as source:
            source.draft("RGB", (side, side))  # JPEG: decode at a reduced scale straight away
            picture = source.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise ImageBackendError(f"The reference image could not be read ({type(error).__name__}).") from None
    if min(picture.size) > 2 * side:
        picture = picture.reduce(min(picture.size) // (2 * side))
    return ImageOps.fit(picture, (side, side), method=Image.Resampling.BILINEAR)


def render(spec: ImageModelSpec, request: ImageRequest) -> RenderedImage:
    seed = _seed(spec, request)
    rng = random.Random(seed)
    hashed = tuple(rng.randrange(40, 200) for _ in range(3))
    background = _colour(request.palette[0], hashed) if request.palette else hashed  # type: ignore[arg-type]
    accent = _colour(request.palette[1], _WHITE) if len(request.palette) > 1 else _WHITE
    width, height = request.width, request.height
    picture = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(picture)
    for _ in range(6):  # a few soft shapes, placed by the seed
        x, y = rng.randrange(width), rng.randrange(height)
        radius = rng.randrange(max(1, width // 10), max(2, width // 3))
        shade = tuple(min(255, channel + rng.randrange(10, 50)) for channel in background)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=shade)

    band = 18  # the stand-in band: hatched, so that nobody mistakes the picture for a real render
    draw.rectangle((0, 0, width, band), fill=(20, 20, 20))
    for x in range(-band, width, 12):
        draw.line((x, band, x + band, 0), fill=(230, 190, 0), width=3)
    draw.rectangle((6, 3, min(width - 6, 6 + 6 * len(STAND_IN_MARK) + 8), band - 3), fill=(20, 20, 20))
    draw.text((10, 4), STAND_IN_MARK, fill=(230, 190, 0))

    side = min(width, height) // 2
    left, top = (width - side) // 2, height // 8
    if request.reference:
        draw.rectangle((left - 4, top - 4, left + side + 4, top + side + 4), fill=accent)
        picture.paste(_portrait(request.reference, side), (left, top))
    if request.label:
        draw.text((left, top + side + 8), request.label[:40], fill=accent)

    scene = f"{spec.prompt_prefix}, {request.prompt}" if spec.prompt_prefix else request.prompt
    lines = textwrap.wrap(scene, width=max(20, width // 7))[:4]
    text_top = height - 8 - 14 * len(lines)
    for index, line in enumerate(lines):
        draw.text((12, text_top + 14 * index), line, fill=accent)

    out = io.BytesIO()
    picture.save(out, format="PNG", compress_level=1)
    return RenderedImage(out.getvalue(), "image/png", width, height, seed, "builtin")
