"""Character Cards (V1, V2, V3 and CHARX): reading a card file into its fields and picture, and writing one.

Pure: no database, no storage, no settings (the limits come in as ``CardLimits``). The service
``apps.assets.services.cards`` turns what is read here into a character, its lorebook and its identity asset,
and a character back into a card.

A file is judged by its bytes, never by its name or declared type: the PNG signature, a zip's ``PK`` header, or
JSON text. Every refusal is a ``CardRejected`` with its own code (``apps.assets.errors``).
"""

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from apps.assets.cards.charx import CharxArchive, charx_write
from apps.assets.cards.limits import CardLimits
from apps.assets.cards.mapping import card_to_content, content_path_to_card, content_to_card
from apps.assets.cards.png import PNG_SIGNATURE, png_card_chunks, png_with_card_chunks
from apps.assets.cards.spec import (
    SPEC_V2,
    SPEC_V3,
    ParsedCard,
    card_base64_decode,
    card_document,
    card_json_dump,
    card_json_load,
    card_parse,
)
from apps.assets.errors import CardTooLarge, CardUnsupported

__all__ = [
    "SPEC_V2",
    "SPEC_V3",
    "CardFile",
    "CardLimits",
    "card_read",
    "card_to_content",
    "card_write",
    "content_path_to_card",
    "content_to_card",
]

FORMATS = {"png": "image/png", "json": "application/json", "charx": "application/zip"}
CHARX_ICON_PATH = "assets/icon/images/main"


@dataclass(frozen=True)
class CardFile:
    """What a card file held: its format (png, json or charx), the card, and its picture's bytes (None for a
    JSON card, or a CHARX without an embedded main icon)."""

    format: str
    card: ParsedCard
    picture: bytes | None = field(default=None, repr=False)


def _sniffed(data: bytes) -> str:
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(b"PK\x03\x04"):
        return "charx"
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return "json"
    raise CardUnsupported("the file is neither a PNG, a CHARX (zip) nor a JSON card.")


def _main_icon_uri(data: dict[str, Any]) -> str | None:
    """The V3 ``assets`` entry that is the card's picture: the icon named ``main``, else the first icon."""
    icons = [item for item in data.get("assets") or [] if isinstance(item, dict) and item.get("type") == "icon"]
    main = next((item for item in icons if item.get("name") == "main"), icons[0] if icons else None)
    uri = main.get("uri") if main is not None else None
    return uri if isinstance(uri, str) else None


def card_read(data: bytes, limits: CardLimits) -> CardFile:
    """Read a card file. Raises a ``CardRejected`` naming what is wrong; nothing here decodes pixels (the
    caller's image check does, on the picture returned)."""
    if len(data) > limits.max_bytes:
        raise CardTooLarge(f"the file is {len(data)} bytes, more than the {limits.max_bytes} allowed (CARD_MAX_BYTES).")
    kind = _sniffed(data)
    if kind == "png":
        _, text = png_card_chunks(data, limits).preferred
        raw = card_base64_decode(text)
        card = card_parse(card_json_load(raw, max_bytes=limits.max_chunk_bytes))
        return CardFile("png", card, data)
    if kind == "json":
        return CardFile("json", card_parse(card_json_load(data, max_bytes=limits.max_chunk_bytes)))
    archive = CharxArchive(data, limits)
    card = card_parse(card_json_load(archive.card_json(), max_bytes=limits.max_chunk_bytes))
    uri = _main_icon_uri(card.data)
    picture = archive.embedded(uri) if uri else None
    if picture is None and uri and uri.startswith("data:") and ";base64," in uri:
        try:
            picture = base64.b64decode(uri.split(";base64,", 1)[1], validate=True)
        except (binascii.Error, ValueError):
            picture = None
    return CardFile("charx", card, picture)


def card_write(
    data: dict[str, Any],
    *,
    file_format: str,
    picture: bytes | None = None,
    picture_extension: str = "png",
    spec: str = SPEC_V3,
) -> bytes:
    """The card file of card ``data`` (V3 fields, without ``assets``).

    - ``png``: ``picture`` (a PNG) with a ``chara`` chunk (the V2 card) and a ``ccv3`` chunk (the V3 card).
    - ``json``: the card's JSON (V3, or V2 with ``spec``).
    - ``charx``: a zip of card.json and, when given, the picture as the main icon.
    """
    if file_format == "png":
        v3 = {**data, "assets": [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}]}
        texts = {
            "chara": base64.b64encode(card_json_dump(card_document(v3, spec=SPEC_V2))),
            "ccv3": base64.b64encode(card_json_dump(card_document(v3))),
        }
        return png_with_card_chunks(picture or b"", texts)
    if file_format == "json":
        v3 = {**data, "assets": [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}]}
        return card_json_dump(card_document(v3, spec=spec))
    files = {f"{CHARX_ICON_PATH}.{picture_extension}": picture} if picture is not None else {}
    assets = [{"type": "icon", "uri": f"embeded://{name}", "name": "main", "ext": picture_extension} for name in files]
    return charx_write(card_json_dump(card_document({**data, "assets": assets})), files)
