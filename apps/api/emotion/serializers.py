"""Request bodies of the emotion surface, with molroo's field names (``sessionId``, ``elapsedSeconds``...).

Unknown fields are ignored, as a molroo client may send fields this server does not know; only the
appraisal vector refuses them (a misspelt dimension must not silently count as absent).

Persona bodies are validated by the engine itself (``personality_from_spec`` names every bad field by
path), so only their outer shape is checked here. Text limits follow the native surface's settings.
"""

from django.conf import settings
from rest_framework import serializers

from apps.core.fields import StrictBooleanField, StrictCharField, StrictFloatField

MAX_ELAPSED_SECONDS = 10 * 365 * 24 * 3600  # ten years: anything longer is a client bug, not an absence
CONTEXT_MAX_CHARS = 4000
EVENT_TYPES = ("proactive_action", "emotional_overflow", "stage_transition")
PROACTIVE_TRIGGERS = ("attachment_seeking", "need_deficit", "emotional_overflow")


class StrictSerializer(serializers.Serializer):
    """Refuses unknown fields: for the appraisal vector, where a misspelt dimension must not read as 0."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


def _message_field(**kwargs) -> StrictCharField:
    return StrictCharField(max_length=settings.MESSAGE_MAX_CHARS, **kwargs)


class SessionRef(serializers.Serializer):
    sessionId = StrictCharField(max_length=40)  # noqa: N815 - molroo's field names
    userId = StrictCharField(max_length=256, required=False, allow_blank=True)  # noqa: N815


class TurnEventInput(serializers.Serializer):
    description = _message_field()
    source = serializers.ChoiceField(choices=("user", "system", "internal"))


class TurnInput(SessionRef):
    """Either the simple form ``{sessionId, message}`` or the full form ``{sessionId, event, ...}``."""

    message = _message_field(required=False)
    event = TurnEventInput(required=False)
    elapsedSeconds = StrictFloatField(min_value=0, max_value=MAX_ELAPSED_SECONDS, required=False)  # noqa: N815
    event_context = StrictCharField(max_length=CONTEXT_MAX_CHARS, required=False, allow_blank=True)

    def validate(self, attrs):
        if ("message" in attrs) == ("event" in attrs):
            raise serializers.ValidationError({"message": ["Send either 'message' or 'event', not both or neither."]})
        return attrs


class AppraisalVectorInput(StrictSerializer):
    goal_relevance = StrictFloatField(min_value=0, max_value=1)
    goal_congruence = StrictFloatField(min_value=-1, max_value=1)
    expectedness = StrictFloatField(min_value=0, max_value=1)
    controllability = StrictFloatField(min_value=0, max_value=1)
    agency = StrictFloatField(min_value=-1, max_value=1)
    norm_compatibility = StrictFloatField(min_value=-1, max_value=1)


class AppraisalTurnInput(SessionRef):
    appraisal = AppraisalVectorInput()
    context = StrictCharField(max_length=CONTEXT_MAX_CHARS, required=False, allow_blank=True)
    elapsedSeconds = StrictFloatField(min_value=0, max_value=MAX_ELAPSED_SECONDS, required=False)  # noqa: N815


class PersonaListQuery(serializers.Serializer):
    cursor = serializers.CharField(max_length=200, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class ProactivePreferencesInput(serializers.Serializer):
    """``enabled`` switches proactive behaviour on or off; ``triggers`` picks which kinds may fire.

    ``triggers`` is a list of trigger names or an object of booleans (``{"need_deficit": false}``); omitted
    triggers keep their previous setting (all on when the session was created).
    """

    enabled = StrictBooleanField(required=False)
    triggers = serializers.JSONField(required=False)

    def validate_triggers(self, value):
        if isinstance(value, list):
            unknown = [name for name in value if name not in PROACTIVE_TRIGGERS]
            if unknown or not all(isinstance(name, str) for name in value):
                raise serializers.ValidationError(f"Each trigger must be one of {', '.join(PROACTIVE_TRIGGERS)}.")
            return {name: name in value for name in PROACTIVE_TRIGGERS}
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(PROACTIVE_TRIGGERS))
            if unknown or not all(isinstance(flag, bool) for flag in value.values()):
                raise serializers.ValidationError(f"An object of booleans keyed by {', '.join(PROACTIVE_TRIGGERS)}.")
            return dict(value)
        raise serializers.ValidationError("A list of trigger names or an object of booleans.")

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError({"enabled": ["Send 'enabled' and/or 'triggers'."]})
        return attrs


class WebhookInput(serializers.Serializer):
    url = StrictCharField(max_length=2048)  # vetted (scheme, host, SSRF guard) by the delivery app
    secret = StrictCharField(max_length=512)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), min_length=1, max_length=len(EVENT_TYPES)
    )

    def validate_events(self, value: list[str]) -> list[str]:
        return sorted(set(value), key=EVENT_TYPES.index)
