"""Reads of the assets app, scoped to the asking app (another app's assets and images look absent)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apps.assets.models import VisualAsset
from apps.assets.types import GateState, VisualReadiness

if TYPE_CHECKING:
    from apps.characters.models import Character


def identity_asset(*, character: Character) -> VisualAsset | None:
    """The character's active identity asset (at most one: a database constraint), or None."""
    return VisualAsset.objects.filter(
        character=character, category=VisualAsset.Category.IDENTITY, status=VisualAsset.Status.ACTIVE
    ).first()


def _thresholds(content: dict[str, Any]) -> dict[str, Any]:
    thresholds = content.get("behavioral_thresholds")
    return thresholds if isinstance(thresholds, dict) else {}


def visual_readiness(*, character: Character, content: dict[str, Any] | None = None) -> VisualReadiness:
    """The three selfie gates for ``character`` (``content``: the version to judge, by default its current
    one)."""
    if content is None:
        version = character.current_version
        content = version.content if version is not None else {}
    identity = identity_asset(character=character) is not None
    anchors = (content.get("profile") or {}).get("identity_anchors")
    anchors_ok = isinstance(anchors, dict) and any(
        isinstance(value, str) and value.strip() for value in anchors.values()
    )
    thresholds = _thresholds(content)
    low = [
        name
        for name in ("image_proactivity", "selfie_comfort", "daily_image_cap")
        if not (isinstance(thresholds.get(name), int | float) and thresholds[name] > 0)
    ]
    return VisualReadiness(
        (
            GateState("identity_asset", identity, "" if identity else "Upload an identity visual asset."),
            GateState(
                "identity_anchors",
                anchors_ok,
                "" if anchors_ok else "Set profile.identity_anchors to a dict of visual keys (e.g. hair, eyes).",
            ),
            GateState(
                "image_thresholds",
                not low,
                "" if not low else f"Set behavioral_thresholds {', '.join(low)} above zero.",
            ),
        )
    )
