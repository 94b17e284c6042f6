"""The request bodies and query strings of the SDK routes, field for field as ``foilengine`` sends them."""

from rest_framework import serializers

from apps.api.shared.validation import StrictCharField


class InitSessionInput(serializers.Serializer):
    user_session_id = StrictCharField(max_length=256)
    player_name = StrictCharField(max_length=120)
    player_gender = StrictCharField(max_length=40)


class MessageInput(serializers.Serializer):
    message = StrictCharField(max_length=4000, trim_whitespace=False)
    user_session_id = StrictCharField(max_length=256)


class PlayerQuery(serializers.Serializer):
    user_session_id = serializers.CharField(max_length=256)
    machine_id = serializers.CharField(max_length=40, required=False)


class MachineQuery(serializers.Serializer):
    machine_id = serializers.CharField(max_length=40, required=False)


class PersonaListQuery(serializers.Serializer):
    public_only = serializers.BooleanField(required=False, default=False)
    my_personas = serializers.BooleanField(required=False, default=False)
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=100)


class SaveQuery(serializers.Serializer):
    persona_id = serializers.CharField(max_length=40, required=False)


class ValidateLlmKeyInput(serializers.Serializer):
    model = serializers.RegexField(r"^[\x21-\x7e]*$", max_length=512, required=False, allow_blank=True)
