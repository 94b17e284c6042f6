"""The presets as molroo lists them (``GET /presets``): each preset's data with the emotion config it resolves to."""

from typing import Any

from apps.personas.engine.config import emotion_config_derive
from apps.personas.engine.personality import personality_from_spec
from apps.personas.engine.preset_data import PRESETS, Preset


def preset_dict(preset: Preset) -> dict[str, Any]:
    """molroo's preset object: ``{id, name, description, personality{O,C,E,A,N}, goals[], emotion_config}``."""
    personality = personality_from_spec({"preset": preset.id})
    return {
        "id": preset.id,
        "name": preset.name,
        "description": preset.description,
        "personality": dict(preset.personality),
        "goals": list(preset.goals),
        "emotion_config": emotion_config_derive(personality, dict(preset.emotion_config)).to_dict(),
    }


def presets_list() -> list[dict[str, Any]]:
    """All presets in molroo's shape, in a stable order."""
    return [preset_dict(preset) for preset in PRESETS.values()]
