"""The card JSON of the three published specs, read into one shape and written back.

- V1: a flat object (``name``, ``description``, ``personality``, ``scenario``, ``first_mes``, ``mes_example``).
- V2: ``{"spec": "chara_card_v2", "spec_version": "2.0", "data": {...}}``; ``data`` has the V1 fields and
  ``creator_notes``, ``system_prompt``, ``post_history_instructions``, ``alternate_greetings``, ``tags``,
  ``creator``, ``character_version``, ``extensions`` and an optional ``character_book``.
- V3: ``{"spec": "chara_card_v3", "spec_version": "3.0", "data": {...}}``; ``data`` has V2's fields and
  ``group_only_greetings``, ``assets`` and optional ``nickname``, ``creator_notes_multilingual``, ``source``,
  ``creation_date``, ``modification_date``. Any 3.x version is read as V3, as the spec asks.

Reading keeps a card's ``data`` object as it is; what it means for a character is ``mapping``'s business.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from apps.assets.errors import CardFieldsInvalid, CardInvalidBase64, CardInvalidJson, CardTooLarge, CardUnsupported

V1_FIELDS = ("name", "description", "personality", "scenario", "first_mes", "mes_example")
V2_FIELDS = (
    *V1_FIELDS,
    "creator_notes",
    "system_prompt",
    "post_history_instructions",
    "alternate_greetings",
    "tags",
    "creator",
    "character_version",
    "extensions",
    "character_book",
)
V3_ONLY_FIELDS = (
    "group_only_greetings",
    "assets",
    "nickname",
    "creator_notes_multilingual",
    "source",
    "creation_date",
    "modification_date",
)
SPEC_V2, SPEC_V3 = "chara_card_v2", "chara_card_v3"


@dataclass(frozen=True)
class ParsedCard:
    spec: str  # chara_card_v1 | chara_card_v2 | chara_card_v3
    data: dict[str, Any]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def card_json_load(raw: bytes, *, max_bytes: int) -> Any:
    """The JSON value of ``raw`` (UTF-8, a byte-order mark allowed). Raises CardTooLarge and CardInvalidJson."""
    if len(raw) > max_bytes:
        raise CardTooLarge(
            f"the card's JSON is {len(raw)} bytes, more than the {max_bytes} allowed (CARD_MAX_CHUNK_BYTES)."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CardInvalidJson(f"the card is not UTF-8 text ({error.reason} at byte {error.start}).") from error
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise CardInvalidJson(f"the card is not valid JSON ({error}).") from error


def card_base64_decode(text: bytes) -> bytes:
    """A chunk's base64 text decoded strictly (whitespace aside). Raises CardInvalidBase64."""
    try:
        return base64.b64decode(b"".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as error:
        raise CardInvalidBase64(f"the card chunk is not valid base64 ({error}).") from error


def card_parse(document: Any) -> ParsedCard:
    """The card's spec and ``data`` object. Raises CardInvalidJson (not an object), CardUnsupported (another
    spec, e.g. a standalone lorebook) and CardFieldsInvalid (``data`` missing)."""
    if not isinstance(document, dict):
        raise CardInvalidJson("the card's JSON is not an object.")
    spec = document.get("spec")
    if spec is None and isinstance(document.get("name"), str):
        return ParsedCard("chara_card_v1", {name: document[name] for name in V1_FIELDS if name in document})
    if spec not in (SPEC_V2, SPEC_V3):
        raise CardUnsupported(f"the JSON is a {spec!r}, not a character card (chara_card_v2 or chara_card_v3).")
    if spec == SPEC_V3:
        try:
            version = float(document.get("spec_version", "3.0"))
        except (TypeError, ValueError):
            version = 0.0
        if not 3.0 <= version < 4.0:
            raise CardUnsupported(f"spec_version {document.get('spec_version')!r} of a V3 card is not 3.x.")
    data = document.get("data")
    if not isinstance(data, dict):
        raise CardFieldsInvalid({"data": ["A V2 or V3 card keeps its fields in a 'data' object."]})
    return ParsedCard(spec, data)


def card_document(data: dict[str, Any], *, spec: str = SPEC_V3) -> dict[str, Any]:
    """The card as its spec wraps it; a V2 card leaves the V3-only fields out (a PNG carries both)."""
    if spec == SPEC_V2:
        return {
            "spec": SPEC_V2,
            "spec_version": "2.0",
            "data": {name: value for name, value in data.items() if name not in V3_ONLY_FIELDS},
        }
    return {"spec": SPEC_V3, "spec_version": "3.0", "data": data}


def card_json_dump(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
