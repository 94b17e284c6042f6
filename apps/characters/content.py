"""Validating a character's authoring content, and its content hash.

One declared shape (``types.CHARACTER_CONTENT``) validates every way content arrives (the native API, the dry-run
validator and the admin's draft publish), so the rules cannot drift apart; the native surface documents the
same shape.
"""

import hashlib
import json
from typing import Any

from apps.characters.types import CHARACTER_CONTENT
from apps.core.errors import ValidationFailed
from apps.core.shapes import shape_validate

# The profile keys the runtime reads; readiness warns about others (they are kept, but nothing uses them).
KNOWN_PROFILE_KEYS = frozenset(
    {
        "age_range",
        "city",
        "dating_intent",
        "visible_bio",
        "visible_interests",
        "identity_anchors",
        "visual_change_velocity",
        "life_event_intensity",
        "latent_interests",
        "aspiration",
        "life_direction",
        "drama_intensity",
        "concreteness_floor",
        "arc_appetite",
        "supporting_cast",
        "occupation",
        "pronouns",
    }
)


def content_validate(data: Any) -> dict[str, Any]:
    """Validate authoring content; return it normalised (absent optional fields dropped, locale defaulted).

    Raises ValidationFailed naming each bad field by its path (``behavioral_thresholds.proactivity_tolerance``,
    ``voice_samples[1]``); unknown top-level fields are refused so that typos do not silently vanish.

    ``lorebooks`` is dropped, not refused: a version's content shows the character's books under that key, so a
    client that posts back what it read must not fail, but books are edited only through the lorebook API (a
    content publish keeps the current books whatever the body says about them).
    """
    if isinstance(data, dict) and "lorebooks" in data:
        data = {name: value for name, value in data.items() if name != "lorebooks"}
    content = shape_validate(CHARACTER_CONTENT, data)
    # Free-form JSON fields are stored as jsonb on PostgreSQL, which cannot hold U+0000.
    null_paths = _null_character_paths(content)
    if null_paths:
        raise ValidationFailed({path: ["Null characters are not allowed."] for path in null_paths})
    return content


def _null_character_paths(value: Any, path: str = "") -> list[str]:
    if isinstance(value, str):
        return [path or "body"] if "\x00" in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            found += [child] if "\x00" in str(key) else _null_character_paths(item, child)
        return found
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in _null_character_paths(item, f"{path}[{index}]")]
    return []


def content_hash(content: dict[str, Any]) -> str:
    """A stable digest of the content, so an identical re-post keeps its version."""
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
