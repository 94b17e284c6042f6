"""Request bodies of the persona API (molroo SDK 0.7's ``/personas`` routes), with the SDK's field names.

Types are strict (a string where a number belongs is a ``VALIDATION_ERROR``, not coerced); unknown fields
are ignored, as the SDK may send fields this server does not model, except in an appraisal vector, where a
misspelt dimension must not silently count as absent. Trait ranges are checked by the engine itself.
"""

from django.conf import settings
from rest_framework import serializers

from apps.api.emotion.serializers import CONTEXT_MAX_CHARS, StrictSerializer
from apps.core.fields import StrictBooleanField, StrictCharField, StrictFloatField, StrictIntegerField

NAME_MAX = 200
TEXT_MAX = 4000
MAX_TICK_SECONDS = 10 * 365 * 24 * 3600


def unit_field(**kwargs) -> StrictFloatField:
    return StrictFloatField(min_value=0, max_value=1, **kwargs)


def _signed(**kwargs) -> StrictFloatField:
    return StrictFloatField(min_value=-1, max_value=1, **kwargs)


class AppraisalInput(StrictSerializer):
    """The SDK's wire appraisal: molroo's six dimensions, which drive the engine, and three more it accepts
    (range-checked and kept on the episode)."""

    goal_relevance = unit_field()
    goal_congruence = _signed()
    expectedness = unit_field()
    controllability = unit_field()
    agency = _signed()
    norm_compatibility = _signed()
    internal_standards = _signed(required=False, allow_null=True)
    adjustment_potential = unit_field(required=False, allow_null=True)
    urgency = unit_field(required=False, allow_null=True)


EXTRA_DIMENSIONS = ("internal_standards", "adjustment_potential", "urgency")


class PersonalityInput(serializers.Serializer):
    O = StrictFloatField(required=False)  # noqa: E741, N815 - HEXACO's letters
    C = StrictFloatField(required=False)
    E = StrictFloatField(required=False)
    A = StrictFloatField(required=False)
    N = StrictFloatField(required=False)
    H = StrictFloatField(required=False)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        return {**(data if isinstance(data, dict) else {}), **values}  # ranges and facets: the engine's to check


class IdentityInput(serializers.Serializer):
    name = StrictCharField(max_length=NAME_MAX, required=False, allow_blank=True)
    role = StrictCharField(max_length=NAME_MAX, required=False, allow_blank=True)
    speakingStyle = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True)  # noqa: N815
    coreValues = serializers.ListField(  # noqa: N815
        child=StrictCharField(max_length=NAME_MAX), required=False, max_length=32
    )
    culturalIdentity = StrictCharField(max_length=NAME_MAX, required=False, allow_blank=True)  # noqa: N815
    description = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True)
    language = StrictCharField(max_length=16, required=False)
    extensions = serializers.DictField(child=StrictCharField(max_length=TEXT_MAX), required=False)


class GoalInput(serializers.Serializer):
    id = StrictCharField(max_length=NAME_MAX, required=False)
    content = StrictCharField(max_length=TEXT_MAX)
    priority = StrictFloatField(required=False)
    mutable = StrictBooleanField(required=False)
    status = serializers.ChoiceField(choices=("active", "achieved", "abandoned"), required=False)


class PersonaConfigInput(serializers.Serializer):
    personality = PersonalityInput(required=False)
    identity = IdentityInput(required=False)
    goals = GoalInput(many=True, required=False, max_length=32)


class PersonaCreateInput(serializers.Serializer):
    config = PersonaConfigInput()


class PageQuery(serializers.Serializer):
    """A newest-first list's query (personas, worlds, world events)."""

    cursor = serializers.CharField(max_length=200, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=50)


class PayloadInput(serializers.Serializer):
    message = StrictCharField(max_length=settings.MESSAGE_MAX_CHARS, required=False, allow_blank=True, default="")


class StimulusInput(serializers.Serializer):
    """What our appraiser reads of the SDK's ``stimulus`` when no appraisal is given; its other fields are
    accepted and not modelled."""

    description = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True)
    text = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True)
    intensity = unit_field(required=False, allow_null=True)


class PerceiveEventInput(serializers.Serializer):
    type = StrictCharField(max_length=64, required=False, default="chat_message")
    timestamp = StrictFloatField(required=False, allow_null=True, min_value=0)
    sourceEntity = StrictCharField(max_length=256, required=False, allow_null=True, allow_blank=True)  # noqa: N815
    payload = PayloadInput()
    appraisal = AppraisalInput(required=False, allow_null=True)
    stimulus = StimulusInput(required=False, allow_null=True)


class RelationshipContextInput(serializers.Serializer):
    trust = unit_field()
    familiarity = unit_field(required=False)


class VadInput(serializers.Serializer):
    V = _signed(required=False)  # noqa: N815
    A = unit_field(required=False)  # noqa: N815
    D = _signed(required=False)  # noqa: N815


class PriorEpisodeInput(serializers.Serializer):
    """The SDK's ``Episode`` as recalled by the caller: what recurrence reads (other fields are ignored)."""

    sourceEntity = StrictCharField(max_length=256, required=False, allow_null=True, allow_blank=True)  # noqa: N815
    appraisal = AppraisalInput(required=False, allow_null=True)
    importance = unit_field(required=False, allow_null=True)
    timestamp = StrictFloatField(required=False, allow_null=True, min_value=0)
    emotionSnapshot = VadInput(required=False, allow_null=True)  # noqa: N815


class PerceiveContextInput(serializers.Serializer):
    priorEpisodes = PriorEpisodeInput(many=True, required=False, allow_null=True, max_length=50)  # noqa: N815
    relationshipContext = RelationshipContextInput(required=False, allow_null=True)  # noqa: N815


class PerceiveInput(serializers.Serializer):
    event = PerceiveEventInput()
    context = PerceiveContextInput(required=False, allow_null=True)


class TickInput(serializers.Serializer):
    seconds = StrictFloatField(min_value=0, max_value=MAX_TICK_SECONDS)


class EmotionInput(serializers.Serializer):
    vad = VadInput()


class SnapshotInput(serializers.Serializer):
    snapshot = serializers.DictField()


class PromptContextInput(serializers.Serializer):
    consumerSuffix = StrictCharField(max_length=CONTEXT_MAX_CHARS, required=False, allow_blank=True)  # noqa: N815
    sourceEntity = StrictCharField(max_length=256, required=False, allow_blank=True)  # noqa: N815


class MemorySearchInput(serializers.Serializer):
    query = StrictCharField(max_length=TEXT_MAX)
    topK = StrictIntegerField(min_value=1, max_value=50, default=10)  # noqa: N815
    minImportance = unit_field(required=False, default=0.0)  # noqa: N815
