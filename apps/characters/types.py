"""Plain values of the characters app that other apps and the surfaces use: the slug pattern and the declared
shape of a character's authoring content (``CHARACTER_CONTENT``; validated by ``services``, documented by the
native surface). Fields follow LoreOS's character body.
"""

from apps.core.shapes import (
    Boolean,
    Field,
    Integer,
    JsonObject,
    JsonValue,
    ListOf,
    Number,
    ObjectOrText,
    Record,
    Text,
)

SLUG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

# Ranges are written as integers so that the messages read "less than or equal to 1", not "1.0".
BEHAVIORAL_THRESHOLDS = Record(
    "BehavioralThresholds",
    (
        Field("proactivity_tolerance", Number(min_value=0, max_value=1)),
        Field("cold_initiate_enabled", Boolean()),
        Field("session_resume_enabled", Boolean()),
        Field("cold_initiate_min_idle_minutes", Integer(min_value=5, max_value=1440)),
        Field("session_resume_min_idle_minutes", Integer(min_value=0, max_value=1440)),
        Field("session_resume_max_unanswered_character_turns", Integer(min_value=0, max_value=20)),
        Field("min_gap_between_initiate_minutes", Integer(min_value=0, max_value=1440)),
        Field("daily_initiate_cap", Integer(min_value=0, max_value=50)),
        Field("image_proactivity", Number(min_value=0, max_value=1)),
        Field("selfie_comfort", Number(min_value=0, max_value=1)),
        Field("daily_image_cap", Integer(min_value=0, max_value=100)),
    ),
    other_keys="keep",
    doc="Known knobs are typed and ranged; unknown keys are kept as authored.",
)

_MOOD_AXIS = Number(min_value=-1, max_value=1)
EMOTION_BASELINE = Record(
    "EmotionBaseline",
    (Field("valence", _MOOD_AXIS), Field("arousal", _MOOD_AXIS), Field("dominance", _MOOD_AXIS)),
    other_keys="keep",
    doc="Resting mood as valence/arousal/dominance in [-1, 1]; other keys are kept as authored.",
)


def _text_list(max_items: int, max_length: int) -> ListOf:
    return ListOf(Text(max_length=max_length), max_items=max_items)


def _json_list(max_items: int) -> ListOf:
    return ListOf(JsonValue(), max_items=max_items)


CHARACTER_CONTENT = Record(
    "CharacterContent",
    (
        Field(
            "slug",
            Text(
                min_length=1,
                max_length=128,
                pattern=SLUG_PATTERN,
                pattern_message="Use letters, digits, '_', '.' and '-' only (no spaces).",
            ),
            required=True,
        ),
        Field("display_name", Text(min_length=1, max_length=120), required=True),
        Field("locale", Text(min_length=2, max_length=16), default="en-US"),
        Field("profile", JsonObject()),
        Field("voice_samples", _text_list(50, 2000)),
        Field("greeting", Text(max_length=4000, allow_blank=True)),
        Field("onboarding", _json_list(50)),
        Field("character_direction", ObjectOrText()),
        Field("life_template", ObjectOrText()),
        Field("story_engine", ObjectOrText()),
        Field("arc_seeds", _json_list(50)),
        Field("relationship_seed", ObjectOrText()),
        Field("emotion_baseline", EMOTION_BASELINE),
        Field("forbidden_style", _text_list(100, 500)),
        Field("handoff_triggers", _text_list(100, 500)),
        Field("world_model_seed", _json_list(100)),
        Field("inherits_style_anchors", _text_list(50, 200)),
        Field("raw_sources", _json_list(50)),
        Field("behavioral_thresholds", BEHAVIORAL_THRESHOLDS),
        Field("affordance_schema", JsonObject()),
        Field("model", Text(max_length=100), doc="Chat model name from the catalog."),
    ),
    other_keys="refuse",
    doc="Everything an integrator authors about a character. Only ``slug`` and ``display_name`` are required.",
)
