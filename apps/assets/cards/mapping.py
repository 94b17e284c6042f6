"""A card's fields as a character's content, and back, so that exporting and importing again gives the same card.

- name: display_name; description: profile.visible_bio; first_mes: greeting.
- alternate_greetings, personality, scenario, mes_example, system_prompt, post_history_instructions,
  creator_notes, tags, creator, character_version: the content field of the same name.
- extensions: kept as they are, but for ``extensions.dramatis``, which carries our fields that no card field
  does (locale, the rest of profile, voice_samples...).
- character_book: the character's own lorebook (the service writes it).
- V3's nickname, group_only_greetings, source, creator_notes_multilingual, the dates, and unknown fields:
  ``card_fields``, written back as they came.
- assets: not kept. The main icon becomes the identity asset, and each export writes the list anew.

Empty card values (``""``, ``[]``, ``{}``, null) leave the content field out, and an absent content field is
written as the empty value, so the two directions meet. The slug is ours alone: it never goes into a card.
"""

import copy
from typing import Any

from apps.assets.cards.spec import V2_FIELDS

DRAMATIS_EXTENSION = "dramatis"
DEFAULT_LOCALE = "en-US"
# Card fields stored under the content field of the same name (the rest are mapped by hand below).
SAME_NAME_FIELDS = (
    "personality",
    "scenario",
    "mes_example",
    "system_prompt",
    "post_history_instructions",
    "creator_notes",
    "alternate_greetings",
    "tags",
    "creator",
    "character_version",
)
_TEXT_DEFAULTS = {
    "name": "",
    "description": "",
    "personality": "",
    "scenario": "",
    "first_mes": "",
    "mes_example": "",
    "creator_notes": "",
    "system_prompt": "",
    "post_history_instructions": "",
    "creator": "",
    "character_version": "",
}
# Content fields a card carries itself, which therefore never go under extensions.dramatis.
CARD_CARRIED = frozenset({"slug", "display_name", "greeting", "extensions", "card_fields", *SAME_NAME_FIELDS})
# Card fields written anew on every export, never kept in card_fields.
_REWRITTEN = frozenset({*V2_FIELDS, "assets"})
# A V3 field written on every export with this value when the card had none.
_V3_DEFAULTS = {"group_only_greetings": []}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def card_to_content(data: dict[str, Any]) -> tuple[dict[str, Any], Any, dict[str, list[str]]]:
    """``(content without a slug, the character_book or None, problems by card path)``. The content is not
    validated here: the characters app does that, and ``content_path_to_card`` names its problems as card paths."""
    problems: dict[str, list[str]] = {}
    extensions = data.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        problems["extensions"] = ["Must be a JSON object."]
        extensions = None
    extensions = dict(extensions or {})
    own = extensions.pop(DRAMATIS_EXTENSION, None)
    content: dict[str, Any] = {}
    if own is not None:
        if not isinstance(own, dict):
            problems["extensions.dramatis"] = ["Must be a JSON object."]
        else:
            for name in sorted(set(own) & CARD_CARRIED):
                problems[f"extensions.dramatis.{name}"] = ["The card carries this field itself; leave it out here."]
            content.update({name: value for name, value in own.items() if name not in CARD_CARRIED})
    content["display_name"] = data.get("name")
    for name in SAME_NAME_FIELDS:
        if not _empty(data.get(name)):
            content[name] = data[name]
    if not _empty(data.get("first_mes")):
        content["greeting"] = data["first_mes"]
    if extensions:
        content["extensions"] = extensions
    description = data.get("description")
    if not _empty(description):
        profile = content.get("profile")
        content["profile"] = {**(profile if isinstance(profile, dict) else {}), "visible_bio": description}
    kept = {
        name: value
        for name, value in data.items()
        if name not in _REWRITTEN and value is not None and _V3_DEFAULTS.get(name, object()) != value
    }
    if kept:
        content["card_fields"] = kept
    book = data.get("character_book")
    return content, book, problems


def content_to_card(content: dict[str, Any], *, book: dict[str, Any] | None) -> dict[str, Any]:
    """The V3 card ``data`` of ``content`` (without ``assets``, which depend on the file written), with
    ``book`` as its character_book."""
    profile = dict(content.get("profile") or {})
    description = profile.get("visible_bio")
    if isinstance(description, str) and description:
        del profile["visible_bio"]
    else:
        description = ""
    own = {name: value for name, value in content.items() if name not in CARD_CARRIED and name != "lorebooks"}
    if profile:
        own["profile"] = profile
    else:
        own.pop("profile", None)
    if own.get("locale") == DEFAULT_LOCALE:
        del own["locale"]
    data: dict[str, Any] = dict(_TEXT_DEFAULTS)
    data.update(name=content["display_name"], description=description, first_mes=content.get("greeting", ""))
    data.update({name: content[name] for name in SAME_NAME_FIELDS if name in content})
    data.setdefault("alternate_greetings", [])
    data.setdefault("tags", [])
    extensions = dict(content.get("extensions") or {})
    if own:
        extensions[DRAMATIS_EXTENSION] = own
    data["extensions"] = extensions
    if book is not None:
        data["character_book"] = book
    data.update(copy.deepcopy(_V3_DEFAULTS))
    data.update(content.get("card_fields") or {})
    return data


_CONTENT_TO_CARD_PATHS = {"display_name": "name", "greeting": "first_mes", "profile.visible_bio": "description"}


def content_path_to_card(path: str) -> str:
    """Where a problem with content field ``path`` sits in the card."""
    if path in _CONTENT_TO_CARD_PATHS:
        return _CONTENT_TO_CARD_PATHS[path]
    head = path.split(".", 1)[0].split("[", 1)[0]
    if head in SAME_NAME_FIELDS or head == "extensions":
        return path
    if head == "card_fields":
        return path.split(".", 1)[1] if "." in path else "data"
    return f"extensions.dramatis.{path}"
