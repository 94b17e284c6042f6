"""Reading and writing the card chunks of a PNG, walking its chunks without decoding a pixel.

A card PNG is an ordinary picture with a ``tEXt`` chunk whose keyword is ``chara`` (Card V2) or ``ccv3``
(Card V3) and whose text is the card's UTF-8 JSON in base64. The walk reads each chunk's length and type and
skips its data, so a 2 MB picture costs microseconds; it reads the header's width and height first, so a picture
that declares a billion pixels is refused before anything decodes it; a card chunk over the limit is refused
before it is copied, and its CRC is checked.
"""

import struct
import zlib
from dataclasses import dataclass

from apps.assets.cards.limits import CardLimits
from apps.assets.errors import CardImageBomb, CardInvalidPng, CardNoChunk, CardTooLarge

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CARD_KEYWORDS = ("ccv3", "chara")  # in order of preference: a V3 chunk wins over the V2 one
_MAX_CHUNK_LENGTH = 2**31 - 1  # the PNG spec's bound


@dataclass(frozen=True)
class PngCardChunks:
    """The card chunks' texts by keyword (base64, undecoded) and the picture's declared size."""

    texts: dict[str, bytes]
    width: int
    height: int

    @property
    def preferred(self) -> tuple[str, bytes]:
        for keyword in CARD_KEYWORDS:
            if keyword in self.texts:
                return keyword, self.texts[keyword]
        raise CardNoChunk("the PNG has no 'chara' or 'ccv3' tEXt chunk, so it carries no card.")


def _chunks(data: bytes):
    """(offset, length, type) of each chunk up to IEND; raises CardInvalidPng for a truncated file."""
    if not data.startswith(PNG_SIGNATURE):
        raise CardInvalidPng("the file does not start with the PNG signature.")
    offset = len(PNG_SIGNATURE)
    while True:
        if offset + 12 > len(data):
            raise CardInvalidPng("the PNG ends before its IEND chunk (truncated).")
        length, kind = struct.unpack_from(">I4s", data, offset)
        if length > _MAX_CHUNK_LENGTH or offset + 12 + length > len(data):
            raise CardInvalidPng(f"the {kind.decode('latin-1')!r} chunk runs past the end of the file (truncated).")
        yield offset, length, kind
        if kind == b"IEND":
            return
        offset += 12 + length


def png_card_chunks(data: bytes, limits: CardLimits) -> PngCardChunks:
    """Walk ``data``'s chunks: the header's size (CardImageBomb over ``max_pixels``) and the card chunks' texts
    (CardTooLarge over ``max_chunk_bytes``, CardInvalidPng for a bad CRC). Other chunks are skipped unread."""
    texts: dict[str, bytes] = {}
    width = height = 0
    for index, (offset, length, kind) in enumerate(_chunks(data)):
        start = offset + 8
        if index == 0:
            if kind != b"IHDR" or length != 13:
                raise CardInvalidPng("the PNG does not open with its IHDR header chunk.")
            width, height = struct.unpack_from(">II", data, start)
            if width * height > limits.max_pixels:
                raise CardImageBomb(
                    f"the picture declares {width}x{height} pixels, more than the {limits.max_pixels} allowed "
                    "(CARD_MAX_PIXELS)."
                )
            continue
        if kind != b"tEXt":
            continue
        keyword_end = data.find(b"\x00", start, min(start + 80, start + length))
        keyword = data[start:keyword_end].decode("latin-1") if keyword_end != -1 else ""
        if keyword not in CARD_KEYWORDS or keyword in texts:
            continue
        if length > limits.max_chunk_bytes:
            raise CardTooLarge(
                f"the {keyword!r} chunk is {length} bytes, more than the {limits.max_chunk_bytes} allowed "
                "(CARD_MAX_CHUNK_BYTES)."
            )
        body = data[offset + 4 : start + length]
        (crc,) = struct.unpack_from(">I", data, start + length)
        if zlib.crc32(body) != crc:
            raise CardInvalidPng(f"the {keyword!r} chunk's CRC does not match its data (corrupt).")
        texts[keyword] = data[keyword_end + 1 : start + length]
    return PngCardChunks(texts, width, height)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_card_chunks(picture: bytes, texts: dict[str, bytes]) -> bytes:
    """``picture`` (a PNG) with a ``tEXt`` chunk per keyword of ``texts`` just before IEND, where SillyTavern
    writes them; tEXt chunks of the same keywords already there are dropped."""
    parts = [PNG_SIGNATURE]
    for offset, length, kind in _chunks(picture):
        if kind == b"IEND":
            parts += [_chunk(b"tEXt", keyword.encode("latin-1") + b"\x00" + text) for keyword, text in texts.items()]
        elif kind == b"tEXt":
            keyword = picture[offset + 8 : offset + 8 + length].split(b"\x00", 1)[0].decode("latin-1")
            if keyword in texts:
                continue
        parts.append(picture[offset : offset + 12 + length])
    return b"".join(parts)
