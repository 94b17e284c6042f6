"""What changed between two versions of a character, field by field, for the version history's diff page.

Top-level fields are compared whole, except the two dicts writers edit key by key (``profile`` and
``behavioral_thresholds``, and the emotion baseline), which are compared per key. A pure function of two
contents: no database.
"""

import json
from dataclasses import dataclass
from typing import Any

PER_KEY_FIELDS = ("profile", "behavioral_thresholds", "emotion_baseline")
LONG_TEXT = 80  # texts longer than this are shown before/after as blocks rather than inline


@dataclass(frozen=True)
class Change:
    path: str  # "greeting", "profile.city"
    kind: str  # "added", "removed" or "changed"
    before: Any = None
    after: Any = None

    @property
    def before_text(self) -> str:
        return _shown(self.before) if self.kind != "added" else ""

    @property
    def after_text(self) -> str:
        return _shown(self.after) if self.kind != "removed" else ""

    @property
    def long(self) -> bool:
        return (
            max(len(self.before_text), len(self.after_text)) > LONG_TEXT or "\n" in self.before_text + self.after_text
        )


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def _compare(path: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes = []
    for key in sorted(set(old) | set(new), key=str):
        where = f"{path}.{key}" if path else str(key)
        if key not in new:
            changes.append(Change(where, "removed", before=old[key]))
        elif key not in old:
            changes.append(Change(where, "added", after=new[key]))
        elif old[key] != new[key]:
            if not path and key in PER_KEY_FIELDS and isinstance(old[key], dict) and isinstance(new[key], dict):
                changes += _compare(where, old[key], new[key])
            else:
                changes.append(Change(where, "changed", before=old[key], after=new[key]))
    return changes


def content_diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """The changes from ``old`` to ``new``, sorted by field (dict fields per key)."""
    return _compare("", old, new)
