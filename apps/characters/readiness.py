"""Authoring readiness: thirteen checks of how complete a character is, a score and warnings.

A character works with only a slug and a name; readiness tells the author what would make it better.
``status`` is ``ready`` only when the score is at least READY_SCORE and nothing is warned about.
"""

from collections.abc import Callable
from typing import Any

from apps.characters.content import KNOWN_PROFILE_KEYS

READY_SCORE = 85


def _profile(content: dict[str, Any]) -> dict[str, Any]:
    profile = content.get("profile")
    return profile if isinstance(profile, dict) else {}


def _filled(value: Any) -> bool:
    return bool(value.strip()) if isinstance(value, str) else bool(value)


CHECKS: list[tuple[str, Callable[[dict[str, Any]], bool], str]] = [
    (
        "profile.visible_bio",
        lambda c: _filled(_profile(c).get("visible_bio")),
        "Add profile.visible_bio: a short public bio.",
    ),
    (
        "profile.visible_interests",
        lambda c: _filled(_profile(c).get("visible_interests")),
        "Add profile.visible_interests.",
    ),
    (
        "profile.identity_anchors",
        lambda c: _filled(_profile(c).get("identity_anchors")),
        "Add profile.identity_anchors: stable traits (a dict of visual keys for selfies).",
    ),
    (
        "voice_samples",
        lambda c: len(c.get("voice_samples") or []) >= 3,
        "Add at least 3 voice_samples in the character's own words.",
    ),
    ("greeting", lambda c: _filled(c.get("greeting")), "Add a greeting: the first message every session opens with."),
    ("onboarding", lambda c: _filled(c.get("onboarding")), "Add onboarding steps for the first conversations."),
    (
        "character_direction",
        lambda c: _filled(c.get("character_direction")),
        "Add character_direction: long-run goals.",
    ),
    ("life_template", lambda c: _filled(c.get("life_template")), "Add life_template: routines, places, people."),
    ("story_engine", lambda c: _filled(c.get("story_engine")), "Add story_engine settings."),
    ("world_model_seed", lambda c: _filled(c.get("world_model_seed")), "Add world_model_seed facts."),
    ("arc_seeds", lambda c: _filled(c.get("arc_seeds")), "Add arc_seeds: story arcs to grow into."),
    (
        "relationship_seed",
        lambda c: _filled(c.get("relationship_seed")),
        "Add relationship_seed: how the relationship starts.",
    ),
    ("emotion_baseline", lambda c: _filled(c.get("emotion_baseline")), "Add emotion_baseline: the resting mood."),
]


def _warnings(content: dict[str, Any]) -> list[dict[str, str]]:
    warnings = []
    unknown = sorted(set(_profile(content)) - KNOWN_PROFILE_KEYS)
    if unknown:
        warnings.append(
            {
                "code": "profile_unknown_keys",
                "message": f"profile has keys the runtime does not use: {', '.join(unknown)}.",
            }
        )
    anchors = _profile(content).get("identity_anchors")
    if anchors is not None and not isinstance(anchors, dict):
        warnings.append(
            {
                "code": "identity_anchors_not_dict",
                "message": "profile.identity_anchors is not a dict; selfies need visual keys.",
            }
        )
    return warnings


def readiness_evaluate(content: dict[str, Any]) -> dict[str, Any]:
    """Score ``content`` (already validated). Pure function: no database."""
    checks = []
    for key, test, fix in CHECKS:
        passed = bool(test(content))
        # A check that passes has nothing to fix: ``fix`` is null, so a client can list ``fix`` texts as a to-do.
        checks.append({"key": key, "passed": passed, "fix": None if passed else fix})
    passed = sum(check["passed"] for check in checks)
    score = round(100 * passed / len(checks))
    warnings = _warnings(content)
    status = "ready" if score >= READY_SCORE and not warnings else "needs_work"
    return {
        "status": status,
        "score": score,
        "passed": passed,
        "total": len(checks),
        "checks": checks,
        "warnings": warnings,
    }
