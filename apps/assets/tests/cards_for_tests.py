"""Cards for the tests, built from the published specs: V1 (flat), V2 (``chara_card_v2``, every field of
spec_v2.md, a character_book with its entry fields) and V3 (``chara_card_v3``, SPEC_V3.md's additions), and the
files that carry them (PNG chunks, CHARX zips), well-formed or not."""

import base64
import io
import json
import struct
import zipfile
import zlib

from apps.assets.tests.pictures import picture


def v1_card() -> dict:
    return {
        "name": "Mira",
        "description": "A lighthouse keeper on a windy island.",
        "personality": "dry, patient, curious",
        "scenario": "{{user}} washes up on Mira's island after a storm.",
        "first_mes": "*hands you a blanket* You're lucky the tide was kind.",
        "mes_example": "<START>\n{{user}}: Who are you?\n{{char}}: The one who keeps the light on.",
    }


def v2_book() -> dict:
    return {
        "name": "Island lore",
        "description": "What Mira knows about the island.",
        "scan_depth": 4,
        "token_budget": 400,
        "recursive_scanning": False,
        "extensions": {"st_world": {"depth": 2}},
        "entries": [
            {
                "keys": ["lighthouse", "lamp"],
                "content": "The lighthouse lamp is older than the village.",
                "extensions": {"position": 0, "depth": 4},
                "enabled": True,
                "insertion_order": 10,
                "case_sensitive": False,
                "name": "lamp",
                "priority": 5,
                "id": 1,
                "comment": "the lamp",
                "selective": True,
                "secondary_keys": ["old"],
                "constant": False,
                "position": "after_char",
            },
            {
                "keys": ["storm"],
                "content": "Storms come from the west.",
                "extensions": {},
                "enabled": True,
                "insertion_order": 20,
            },
        ],
    }


def v2_card(**changes) -> dict:
    data = {
        **v1_card(),
        "creator_notes": "Works best with a slow-burn story.",
        "system_prompt": "Write in third person. {{original}}",
        "post_history_instructions": "Keep replies under 100 words.",
        "alternate_greetings": ["The light is on. Come in.", "*waves from the gallery*"],
        "character_book": v2_book(),
        "tags": ["fantasy", "slice of life"],
        "creator": "anon",
        "character_version": "1.2",
        "extensions": {"talkativeness": "0.5", "fav": False, "depth_prompt": {"prompt": "", "depth": 4}},
    }
    data.update(changes)
    return {"spec": "chara_card_v2", "spec_version": "2.0", "data": data}


def v3_card(**changes) -> dict:
    card = v2_card()
    card["spec"], card["spec_version"] = "chara_card_v3", "3.0"
    card["data"]["character_book"]["entries"][1].update(use_regex=False, constant=True)
    card["data"]["character_book"]["entries"][0]["use_regex"] = False
    card["data"].update(
        nickname="Mimi",
        creator_notes_multilingual={"fr": "Idéal pour une histoire lente."},
        source=["https://example.com/mira"],
        group_only_greetings=["Mira nods at the group."],
        creation_date=1_700_000_000,
        modification_date=1_700_000_500,
        assets=[{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}],
    )
    card["data"].update(changes)
    return card


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encoded(card) -> bytes:
    return base64.b64encode(json.dumps(card).encode())


def png_card(chunks: dict[str, bytes], *, base: bytes | None = None) -> bytes:
    """``base`` (a PNG) with a tEXt chunk per keyword: value (already base64) before IEND."""
    base = base or picture("PNG", size=(40, 60))
    assert base.endswith(chunk(b"IEND", b""))
    texts = b"".join(chunk(b"tEXt", keyword.encode() + b"\x00" + value) for keyword, value in chunks.items())
    return base[:-12] + texts + base[-12:]


def charx(card: dict | bytes, files: dict[str, bytes] | None = None, *, card_name: str = "card.json") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(card_name, card if isinstance(card, bytes) else json.dumps(card))
        for name, data in (files or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def charx_v3_with_icon() -> bytes:
    card = v3_card(
        assets=[{"type": "icon", "uri": "embeded://assets/icon/images/main.png", "name": "main", "ext": "png"}]
    )
    return charx(card, {"assets/icon/images/main.png": picture("PNG", size=(48, 64), colour=(10, 90, 200))})
