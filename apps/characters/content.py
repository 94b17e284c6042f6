"""The authoring schema of a character: which fields exist, their types and ranges.

One serializer validates every way content arrives (the native API, the dry-run validator and the
admin's draft publish), so the rules cannot drift apart. Fields follow LoreOS's character body.
"""

import hashlib
import json
from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from apps.core.errors import ValidationFailed, field_error_paths
from apps.core.fields import StrictBooleanField, StrictCharField, StrictFloatField, StrictIntegerField

SLUG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

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


class AnyObjectField(serializers.JSONField):
    """A JSON object (dict)."""

    default_error_messages = {"not_object": "Must be a JSON object."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_object")
        return value


class ObjectOrTextField(serializers.JSONField):
    """A JSON object or a string (free-form authoring notes)."""

    default_error_messages = {"invalid_kind": "Must be a JSON object or a string."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict | str):
            self.fail("invalid_kind")
        return value


class BehavioralThresholdsSerializer(serializers.Serializer):
    """Known knobs are typed and ranged; unknown keys are kept as authored."""

    proactivity_tolerance = StrictFloatField(min_value=0, max_value=1, required=False)
    cold_initiate_enabled = StrictBooleanField(required=False)
    session_resume_enabled = StrictBooleanField(required=False)
    cold_initiate_min_idle_minutes = StrictIntegerField(min_value=5, max_value=1440, required=False)
    session_resume_min_idle_minutes = StrictIntegerField(min_value=0, max_value=1440, required=False)
    session_resume_max_unanswered_character_turns = StrictIntegerField(min_value=0, max_value=20, required=False)
    min_gap_between_initiate_minutes = StrictIntegerField(min_value=0, max_value=1440, required=False)
    daily_initiate_cap = StrictIntegerField(min_value=0, max_value=50, required=False)
    image_proactivity = StrictFloatField(min_value=0, max_value=1, required=False)
    selfie_comfort = StrictFloatField(min_value=0, max_value=1, required=False)
    daily_image_cap = StrictIntegerField(min_value=0, max_value=100, required=False)

    def to_internal_value(self, data):
        validated = super().to_internal_value(data)
        extra = {key: value for key, value in data.items() if key not in self.fields}
        return {**extra, **validated}


class EmotionBaselineSerializer(serializers.Serializer):
    """Resting mood as valence/arousal/dominance in [-1, 1]; other keys are kept as authored."""

    valence = StrictFloatField(min_value=-1, max_value=1, required=False)
    arousal = StrictFloatField(min_value=-1, max_value=1, required=False)
    dominance = StrictFloatField(min_value=-1, max_value=1, required=False)

    def to_internal_value(self, data):
        validated = super().to_internal_value(data)
        extra = {key: value for key, value in data.items() if key not in self.fields}
        return {**extra, **validated}


def _text_list(max_items: int, max_length: int) -> serializers.ListField:
    return serializers.ListField(
        child=StrictCharField(max_length=max_length, allow_blank=False), max_length=max_items, required=False
    )


def _json_list(max_items: int) -> serializers.ListField:
    return serializers.ListField(child=serializers.JSONField(), max_length=max_items, required=False)


class CharacterContentSerializer(serializers.Serializer):
    """Everything an integrator authors about a character. Only ``slug`` and ``display_name`` are required."""

    slug = StrictCharField(
        min_length=1,
        max_length=128,
        validators=[RegexValidator(SLUG_PATTERN, "Use letters, digits, '_', '.' and '-' only (no spaces).")],
    )
    display_name = StrictCharField(min_length=1, max_length=120)
    locale = StrictCharField(min_length=2, max_length=16, required=False, default="en-US")
    profile = AnyObjectField(required=False)
    voice_samples = _text_list(50, 2000)
    greeting = StrictCharField(max_length=4000, required=False, allow_blank=True)
    onboarding = _json_list(50)
    character_direction = ObjectOrTextField(required=False)
    life_template = ObjectOrTextField(required=False)
    story_engine = ObjectOrTextField(required=False)
    arc_seeds = _json_list(50)
    relationship_seed = ObjectOrTextField(required=False)
    emotion_baseline = EmotionBaselineSerializer(required=False)
    forbidden_style = _text_list(100, 500)
    handoff_triggers = _text_list(100, 500)
    world_model_seed = _json_list(100)
    inherits_style_anchors = _text_list(50, 200)
    raw_sources = _json_list(50)
    behavioral_thresholds = BehavioralThresholdsSerializer(required=False)
    affordance_schema = AnyObjectField(required=False)
    model = StrictCharField(max_length=100, required=False, help_text="Chat model name from the catalog.")


def content_validate(data: Any) -> dict[str, Any]:
    """Validate authoring content; return it normalised (absent optional fields dropped, locale defaulted).

    Raises ValidationFailed naming each bad field by its path (``behavioral_thresholds.proactivity_tolerance``,
    ``voice_samples[1]``); unknown top-level fields are refused so that typos do not silently vanish.
    """
    if not isinstance(data, dict):
        raise ValidationFailed({"body": ["Must be a JSON object."]})
    serializer = CharacterContentSerializer(data=data)
    unknown = sorted(set(data) - set(serializer.fields))
    if not serializer.is_valid() or unknown:
        fields = field_error_paths(serializer.errors)
        fields.update({name: ["Unknown field."] for name in unknown})
        raise ValidationFailed(fields)
    content = dict(serializer.validated_data)
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
