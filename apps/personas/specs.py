"""A character's persona body: what a native conversation session's emotion state starts from. Pure.

The body is the character's ``CharacterPersona`` spec (edited in the admin, a molroo persona body),
completed from the character's content: ``display_name`` as the identity's name, ``locale`` as its
language, and ``emotion_baseline`` (valence/arousal/dominance in [-1, 1]) as the resting mood unless the
persona's ``emotion_config`` sets its own baseline. A character without a persona gets a neutral
personality (every trait 0.5).
"""

from collections.abc import Mapping
from typing import Any

from apps.personas import engine

NEUTRAL_PERSONALITY = {domain: engine.NEUTRAL_TRAIT for domain in engine.DOMAINS}


def persona_spec_merge(spec: Mapping[str, Any], content: Mapping[str, Any]) -> dict[str, Any]:
    """Complete ``spec`` from character ``content``; the spec's own fields win. Pure."""
    merged: dict[str, Any] = dict(spec)
    identity = dict(merged.get("identity") or {}) if isinstance(merged.get("identity"), Mapping) else {}
    identity.setdefault("name", content.get("display_name", ""))
    identity.setdefault("language", str(content.get("locale") or "en"))
    merged["identity"] = identity
    if "preset" not in merged and "personality" not in merged:
        merged["personality"] = dict(NEUTRAL_PERSONALITY)
    baseline = content.get("emotion_baseline") or {}
    config = merged.get("emotion_config")
    config = dict(config) if isinstance(config, Mapping) else ({} if config is None else config)
    if isinstance(config, dict) and "baseline" not in config:
        vad = {}
        if isinstance(baseline.get("valence"), int | float):
            vad["V"] = float(baseline["valence"])
        if isinstance(baseline.get("arousal"), int | float):
            vad["A"] = (float(baseline["arousal"]) + 1.0) / 2.0  # authored in [-1, 1], the engine's A is [0, 1]
        if isinstance(baseline.get("dominance"), int | float):
            vad["D"] = float(baseline["dominance"])
        if vad:
            config["baseline"] = vad
    if config or "emotion_config" in merged:
        merged["emotion_config"] = config
    return merged


def character_persona_validate(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Check a persona body as the admin saves it (raises the engine's errors); return the resolved persona."""
    completed = persona_spec_merge(spec, {"display_name": "", "locale": "en"})
    personality = engine.personality_from_spec(completed)
    engine.emotion_config_from_spec(personality, completed)
    return personality.to_dict()


def character_persona_derive(spec: Mapping[str, Any], content: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the engine makes of a persona body before anything is saved: the resolved persona, the emotion
    config it derives (the preset's and the spec's overrides applied) and the resting mood a session starts
    in. ``content`` is the character's (its ``emotion_baseline`` becomes the resting mood unless the spec sets
    one); without it the mood is the personality's own. The admin's live preview; raises the engine's errors."""
    completed = persona_spec_merge(spec, content or {"display_name": "", "locale": "en"})
    personality = engine.personality_from_spec(completed)
    config = engine.emotion_config_from_spec(personality, completed)
    state = engine.emotion_state_initial(config)
    return {
        "persona": personality.to_dict(),
        "emotion_config": config.to_dict(),
        "resting_mood": {"emotion": state.vad.to_dict(), "discrete_emotion": state.discrete.to_dict()},
    }
