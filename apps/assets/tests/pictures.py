"""Pictures for the assets tests, made in memory: real images of each format, and the bad files an upload
check must refuse (built cheaply: a bomb is a header, not 400 million pixels)."""

import io
import struct
import zlib

from PIL import Image


def picture(fmt: str = "PNG", size: tuple[int, int] = (64, 48), colour=(200, 30, 30), **save) -> bytes:
    out = io.BytesIO()
    mode = "RGBA" if fmt != "JPEG" and save.pop("alpha", False) else "RGB"
    Image.new(mode, size, colour).save(out, format=fmt, **save)
    return out.getvalue()


def exif_gps(orientation: int | None = None) -> Image.Exif:
    """EXIF with a GPS position (and an orientation when given): what a phone puts in a photo."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 24.0)
    gps[3], gps[4] = "E", (2.0, 21.0, 3.0)
    if orientation is not None:
        exif[0x0112] = orientation
    return exif


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` with a tiny IDAT: a decompression bomb's shape."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'
