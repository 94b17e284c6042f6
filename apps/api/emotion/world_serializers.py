"""Request bodies of the world API (molroo SDK 0.7's ``/worlds`` routes), with the SDK's snake_case names."""

from rest_framework import serializers

from apps.api.emotion.persona_serializers import NAME_MAX, TEXT_MAX, AppraisalInput, PersonaConfigInput, unit_field
from apps.core.fields import StrictCharField

ACCESS_POLICIES = ("closed", "open")
RESPONSE_RULES = ("target", "all", "ai")
ENTITY_TYPES = ("user", "persona")


class WorldInput(serializers.Serializer):
    name = StrictCharField(max_length=NAME_MAX)
    description = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True, allow_null=True)
    access_policy = serializers.ChoiceField(choices=ACCESS_POLICIES, required=False, allow_null=True)
    response_rule = serializers.ChoiceField(choices=RESPONSE_RULES, required=False, allow_null=True)


class WorldUpdateInput(WorldInput):
    name = StrictCharField(max_length=NAME_MAX, required=False)


class MemberInput(serializers.Serializer):
    persona_id = StrictCharField(max_length=40, required=False, allow_null=True)
    persona_config_id = StrictCharField(max_length=NAME_MAX, required=False, allow_null=True)
    display_name = StrictCharField(max_length=NAME_MAX, required=False, allow_null=True, allow_blank=True)
    config = PersonaConfigInput(required=False, allow_null=True)

    def validate(self, attrs):
        if not attrs.get("persona_id") and not attrs.get("config"):
            raise serializers.ValidationError({"persona_id": ["Send 'persona_id' or an inline 'config'."]})
        return attrs


class ActionInput(serializers.Serializer):
    name = StrictCharField(max_length=64)
    description = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True, allow_null=True)
    appraisal_vector = AppraisalInput()


class RelationshipInput(serializers.Serializer):
    source_type = serializers.ChoiceField(choices=ENTITY_TYPES)
    source_id = StrictCharField(max_length=256)
    target_type = serializers.ChoiceField(choices=ENTITY_TYPES)
    target_id = StrictCharField(max_length=256)
    relationship_type = StrictCharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    description = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True, allow_null=True)
    strength = unit_field(required=False, allow_null=True)
    trust = unit_field(required=False, allow_null=True)


class InteractInput(serializers.Serializer):
    target_persona_id = StrictCharField(max_length=40)
    action_name = StrictCharField(max_length=64, required=False, allow_null=True, allow_blank=True)
    action_label = StrictCharField(max_length=NAME_MAX, required=False, allow_null=True, allow_blank=True)
    stimulus_description = StrictCharField(max_length=TEXT_MAX, required=False, allow_null=True, allow_blank=True)
    appraisal_vector = AppraisalInput(required=False, allow_null=True)
    actor_id = StrictCharField(max_length=256, required=False, allow_null=True, allow_blank=True)
    actor_type = serializers.ChoiceField(choices=ENTITY_TYPES, required=False, allow_null=True)


class MemberPromptContextInput(serializers.Serializer):
    sourceEntity = StrictCharField(max_length=256, required=False, allow_blank=True)  # noqa: N815
    consumerSuffix = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True)  # noqa: N815
