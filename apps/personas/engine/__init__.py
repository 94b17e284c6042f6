"""The emotion engine: pure Python, no Django, no I/O. Deterministic functions over immutable dataclasses.

Typical turn::

    personality = personality_from_spec({"preset": "cheerful_companion", "identity": {"name": "Mina"}})
    config = emotion_config_from_spec(personality, spec)       # or emotion_config_derive(personality, overrides)
    state = emotion_state_initial(config)
    relationship = relationship_initial(config)
    result = emotion_step(state, appraise_text("you're amazing!", personality), config, personality,
                          relationship, elapsed_seconds=30)
    prompt = prompt_data_build(personality, result.state, result.relationship)

Store ``state.to_dict()`` / ``relationship.to_dict()`` and rebuild with ``EmotionState.from_dict`` /
``Relationship.from_dict``. See docs/emotion-model.md for the models followed.
"""

from apps.personas.engine.appraisal import DIMENSIONS, Appraisal, appraise_text
from apps.personas.engine.config import (
    ATTACHMENT_STYLES,
    EMOTION_CONFIG_CHOICES,
    EMOTION_CONFIG_RANGES,
    REGULATION_STRATEGIES,
    VAD,
    EmotionConfig,
    emotion_config_derive,
    emotion_config_from_spec,
    mehrabian_pad,
)
from apps.personas.engine.dynamics import emotion_decay, emotion_set, emotion_state_initial, emotion_step
from apps.personas.engine.errors import EngineInputInvalid, UnknownPreset
from apps.personas.engine.identity import Identity
from apps.personas.engine.perception import (
    PriorEpisode,
    appraisal_intensified,
    appraisal_recalled,
    goals_after_event,
    mask_exposure,
    mask_integrity,
    reflection_prompt,
    stimulus_text,
)
from apps.personas.engine.personality import (
    DOMAINS,
    FACETS,
    NEUTRAL_TRAIT,
    Personality,
    personality_from_dict,
    personality_from_spec,
)
from apps.personas.engine.preset_data import PRESETS, Preset
from apps.personas.engine.presets import presets_list
from apps.personas.engine.prompt import prompt_data_build, prompt_language
from apps.personas.engine.stages import STAGES
from apps.personas.engine.state import (
    DiscreteEmotion,
    EmotionState,
    Needs,
    RegulationEvent,
    Relationship,
    TurnResult,
    relationship_initial,
)

__all__ = [
    "PriorEpisode",
    "appraisal_intensified",
    "appraisal_recalled",
    "goals_after_event",
    "mask_exposure",
    "mask_integrity",
    "reflection_prompt",
    "stimulus_text",
    "ATTACHMENT_STYLES",
    "DIMENSIONS",
    "DOMAINS",
    "EMOTION_CONFIG_CHOICES",
    "EMOTION_CONFIG_RANGES",
    "FACETS",
    "NEUTRAL_TRAIT",
    "PRESETS",
    "REGULATION_STRATEGIES",
    "STAGES",
    "VAD",
    "Appraisal",
    "DiscreteEmotion",
    "EmotionConfig",
    "EmotionState",
    "EngineInputInvalid",
    "Identity",
    "Needs",
    "Personality",
    "Preset",
    "RegulationEvent",
    "Relationship",
    "TurnResult",
    "UnknownPreset",
    "appraise_text",
    "emotion_config_derive",
    "emotion_config_from_spec",
    "emotion_decay",
    "emotion_set",
    "emotion_state_initial",
    "emotion_step",
    "mehrabian_pad",
    "personality_from_dict",
    "personality_from_spec",
    "presets_list",
    "prompt_data_build",
    "prompt_language",
    "relationship_initial",
]
