"""Checking an uploaded picture by decoding it, and making what we store from it.

Nothing about an upload is believed but its decoded pixels: not the file name, not the declared content type.
Pillow opens the bytes with only the PNG, JPEG and WebP decoders enabled (an SVG, a GIF or a text file named
``.png`` is then simply "not an image"); the header's width and height are checked against
``ASSET_MAX_PIXELS`` before the pixel data is decoded, so a 20000x20000 bomb is refused without allocating it
(Pillow's own DecompressionBomb warning and error are refusals too); ``load()`` is forced so that a truncated
or corrupt file fails here rather than later.

What is stored carries the pixels and nothing else: no EXIF (GPS, camera, dates), no XMP, no text chunks, no
bytes after the image's end (only the ICC colour profile stays, so that colours stay right). A JPEG is
re-encoded from its decoded pixels. A PNG or WebP is rewritten chunk by chunk, keeping only the chunks that
carry pixels and colour: lossless, and fast (re-encoding a 1024x1024 photo as PNG or WebP alone costs
50-80 ms here, over the 50 ms an upload may take). A picture whose EXIF orientation says it is rotated is
turned upright and re-encoded, whatever its format. A WebP thumbnail (``ASSET_THUMBNAIL_SIZE`` on the long
side) goes with it.

Everything refused raises ``ImageRejected`` (422 ``image_rejected``) with the reason.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from apps.assets.errors import ImageRejected

FORMATS = {"PNG": ("image/png", "png"), "JPEG": ("image/jpeg", "jpg"), "WEBP": ("image/webp", "webp")}
FORMATS_BY_CONTENT_TYPE = {content_type: extension for content_type, extension in FORMATS.values()}
THUMBNAIL_CONTENT_TYPE = "image/webp"
_READ_CHUNK = 256 * 1024


@dataclass(frozen=True)
class CheckedImage:
    """A picture that passed: the bytes to store (metadata stripped), the thumbnail and what they are."""

    data: bytes = field(repr=False)
    content_type: str
    extension: str
    width: int
    height: int
    sha256: str
    thumbnail: bytes = field(repr=False)
    thumbnail_content_type: str = THUMBNAIL_CONTENT_TYPE

    @property
    def byte_size(self) -> int:
        return len(self.data)


# PNG chunks that carry pixels or colour; everything else (eXIf, tEXt, zTXt, iTXt, tIME, pHYs, private
# chunks...) is metadata and is dropped.
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEPT = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"cICP"}
# WebP (RIFF) chunks that carry pixels or colour; EXIF and XMP go, with their flags in the VP8X header.
_WEBP_KEPT = {b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ICCP"}
_VP8X_EXIF_XMP_FLAGS = 0x08 | 0x04


def _png_stripped(data: bytes) -> bytes:
    """The PNG with only its pixel and colour chunks (the decoder already checked the structure and CRCs)."""
    out, offset = [_PNG_SIGNATURE], len(_PNG_SIGNATURE)
    while offset + 12 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        end = offset + 12 + length
        if kind in _PNG_KEPT:
            out.append(data[offset:end])
        offset = end
        if kind == b"IEND":
            break
    return b"".join(out)


def _webp_stripped(data: bytes) -> bytes:
    """The WebP with its EXIF and XMP chunks (and anything unknown) gone, the VP8X flags and sizes to match."""
    chunks, offset = [], 12
    (riff_size,) = struct.unpack("<I", data[4:8])
    end_of_riff = min(len(data), 8 + riff_size)
    while offset + 8 <= end_of_riff:
        kind = data[offset : offset + 4]
        (length,) = struct.unpack("<I", data[offset + 4 : offset + 8])
        end = offset + 8 + length + (length & 1)  # chunks are padded to an even size
        chunk = data[offset:end]
        if kind == b"VP8X":
            flags = chunk[8] & ~_VP8X_EXIF_XMP_FLAGS
            chunk = chunk[:8] + bytes([flags]) + chunk[9:]
        if kind in _WEBP_KEPT:
            chunks.append(chunk)
        offset = end
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _orientation(picture: Image.Image) -> int:
    try:
        return int(picture.getexif().get(0x0112, 1) or 1)
    except (ValueError, TypeError, SyntaxError, struct.error, zlib.error):
        return 1


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size} bytes"


def image_read(source: IO[bytes] | bytes, *, max_bytes: int | None = None) -> bytes:
    """The bytes of an upload, reading at most one byte over ``max_bytes`` (default ``ASSET_MAX_BYTES``), so a
    huge file is refused without holding it. Raises ImageRejected when it is over the limit or empty."""
    limit = settings.ASSET_MAX_BYTES if max_bytes is None else max_bytes
    if isinstance(source, bytes | bytearray):
        data = bytes(source[: limit + 1])
    else:
        chunks, size = [], 0
        while size <= limit:
            chunk = source.read(min(_READ_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    if len(data) > limit:
        raise ImageRejected(f"the file is larger than {_megabytes(limit)} (ASSET_MAX_BYTES).")
    if not data:
        raise ImageRejected("the file is empty.")
    return data


def _opened(data: bytes) -> Image.Image:
    """The image with its header read and checked, its pixels not yet decoded."""
    try:
        picture = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except Image.DecompressionBombError as error:
        raise ImageRejected(f"the image declares too many pixels ({error}).") from error
    except UnidentifiedImageError as error:
        raise ImageRejected("the file is not a PNG, JPEG or WebP image.") from error
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageRejected(f"the file could not be read as an image ({error}).") from error
    width, height = picture.size
    if width * height > settings.ASSET_MAX_PIXELS:
        raise ImageRejected(
            f"the image is {width}x{height} pixels, more than the {settings.ASSET_MAX_PIXELS} allowed "
            "(ASSET_MAX_PIXELS)."
        )
    if width < 1 or height < 1:
        raise ImageRejected("the image has no pixels.")
    if getattr(picture, "is_animated", False):
        raise ImageRejected("animated images are not accepted; send a still PNG, JPEG or WebP.")
    return picture


def _encoded(picture: Image.Image, image_format: str, icc_profile: bytes | None) -> bytes:
    """The pixels alone, re-encoded: nothing from the original's metadata is passed on but its colour profile.
    The settings favour speed (PNG: compression level 1; WebP: method 0)."""
    out = io.BytesIO()
    extra = {"icc_profile": icc_profile} if icc_profile else {}
    if image_format == "JPEG":
        if picture.mode not in ("RGB", "L"):
            picture = picture.convert("RGB")
        picture.save(out, format="JPEG", quality=92, **extra)
    elif image_format == "WEBP":
        if picture.mode not in ("RGB", "RGBA"):
            picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
        picture.save(out, format="WEBP", quality=90, method=0, **extra)
    else:
        picture.save(out, format="PNG", compress_level=1, **extra)
    return out.getvalue()


def _thumbnail(picture: Image.Image) -> bytes:
    side = settings.ASSET_THUMBNAIL_SIZE
    small = picture.copy() if max(picture.size) > side else picture
    if small.mode not in ("RGB", "RGBA"):
        small = small.convert("RGBA" if "A" in small.getbands() or "transparency" in small.info else "RGB")
    small.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    out = io.BytesIO()
    small.save(out, format="WEBP", quality=80, method=0)
    return out.getvalue()


def image_check(data: bytes) -> CheckedImage:
    """Decode ``data`` and make the stored file and thumbnail from it. Raises ImageRejected."""
    if len(data) > settings.ASSET_MAX_BYTES:
        raise ImageRejected(f"the file is larger than {_megabytes(settings.ASSET_MAX_BYTES)} (ASSET_MAX_BYTES).")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            picture = _opened(data)
            picture.load()
            rotated = _orientation(picture) != 1
            if rotated:
                ImageOps.exif_transpose(picture, in_place=True)
        except ImageRejected:
            raise
        except Image.DecompressionBombWarning as error:
            raise ImageRejected(f"the image declares too many pixels ({error}).") from error
        except (OSError, ValueError, SyntaxError, EOFError, struct.error, zlib.error) as error:
            # truncated, corrupt, a bad chunk CRC...
            raise ImageRejected(f"the image data is truncated or corrupt ({error}).") from error
    image_format = picture.format or ""
    icc_profile = picture.info.get("icc_profile")
    picture.info = {key: picture.info[key] for key in ("transparency",) if key in picture.info}
    if image_format == "PNG" and not rotated:
        stored = _png_stripped(data)
    elif image_format == "WEBP" and not rotated:
        stored = _webp_stripped(data)
    else:
        stored = _encoded(picture, image_format, icc_profile)
    thumbnail = _thumbnail(picture)
    content_type, extension = FORMATS[image_format]
    return CheckedImage(
        data=stored,
        content_type=content_type,
        extension=extension,
        width=picture.width,
        height=picture.height,
        sha256=hashlib.sha256(stored).hexdigest(),
        thumbnail=thumbnail,
    )
