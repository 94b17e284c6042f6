"""A character's persona: what a native conversation session's emotion state starts from.

The persona comes from the character's ``CharacterPersona`` (edited in the admin, a molroo persona body),
completed from the character's content: ``display_name`` as the identity's name, ``locale`` as its
language, and ``emotion_baseline`` (valence/arousal/dominance in [-1, 1]) as the resting mood unless the
persona's ``emotion_config`` sets its own baseline. A character without a persona gets a neutral
personality (every trait 0.5).
"""

from collections.abc import Mapping
from typing import Any

from apps.accounts.models import App
from apps.personas import engine
from apps.personas.models import CharacterPersona, PersonaSession
from apps.personas.services import persona_session_create

NEUTRAL_PERSONALITY = {domain: engine.NEUTRAL_TRAIT for domain in engine.DOMAINS}


def character_persona_spec(*, character_id: str, content: Mapping[str, Any]) -> dict[str, Any]:
    """The molroo persona body for a character (its CharacterPersona completed from its content)."""
    stored = CharacterPersona.objects.filter(character_id=character_id).values_list("spec", flat=True).first()
    return persona_spec_merge(stored or {}, content)


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


def character_persona_session_create(*, app: App, character_id: str, content: Mapping[str, Any]) -> PersonaSession:
    """A new emotion session for a native conversation with this character."""
    return persona_session_create(app=app, spec=character_persona_spec(character_id=character_id, content=content))


def character_persona_preview(*, character_id: str, content: Mapping[str, Any]) -> dict[str, Any]:
    """The state a native session with this character starts in (before its first turn), shaped like
    ``selectors.persona_state``. Writes nothing."""
    spec = character_persona_spec(character_id=character_id, content=content)
    personality = engine.personality_from_spec(spec)
    config = engine.emotion_config_from_spec(personality, spec)
    state = engine.emotion_state_initial(config)
    relationship = engine.relationship_initial(config)
    return {
        **state.public_dict(),
        "relationship": relationship.public_dict(),
        "prompt_data": engine.prompt_data_build(personality, state, relationship, config),
    }
