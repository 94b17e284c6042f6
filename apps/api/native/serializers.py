"""Request and response shapes of the native surface (also the source of its OpenAPI schema)."""

from django.core.validators import RegexValidator
from rest_framework import serializers

from apps.api.native.shape_serializers import shape_serializer
from apps.characters import types as character_types
from apps.characters.types import SLUG_PATTERN
from apps.core.fields import StrictBooleanField, StrictCharField, StrictIntegerField


class NextActionSerializer(serializers.Serializer):
    command = serializers.CharField()
    description = serializers.CharField()


def enveloped(name: str, data_serializer: serializers.Serializer | type) -> type:
    """An OpenAPI component for ``{schema_version, data: <data_serializer>, next_actions}``."""
    data_field = data_serializer if isinstance(data_serializer, serializers.Field) else data_serializer()
    return type(
        name,
        (serializers.Serializer,),
        {
            "schema_version": serializers.CharField(default="v0"),
            "data": data_field,
            "next_actions": NextActionSerializer(many=True),
        },
    )


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable snake_case code, e.g. session_not_found.")
    message = serializers.CharField()
    fix = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class ErrorSerializer(serializers.Serializer):
    detail = ErrorDetailSerializer()


# The error responses every authenticated operation documents, and those every POST adds.
AUTH_ERRORS = {401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
BODY_ERRORS = {413: ErrorSerializer, 422: ErrorSerializer}  # the size cap, then validation


# --- demo --------------------------------------------------------------------------------------------
class SandboxKeyOutput(serializers.Serializer):
    api_key = serializers.CharField()
    app_id = serializers.CharField()
    expires_at = serializers.DateTimeField()
    limits = serializers.DictField(child=serializers.IntegerField())


# --- characters --------------------------------------------------------------------------------------
# The authoring content as the characters app declares (and validates) it.
CharacterContentSerializer = shape_serializer(character_types.CHARACTER_CONTENT)
BehavioralThresholdsSerializer = shape_serializer(character_types.BEHAVIORAL_THRESHOLDS)
EmotionBaselineSerializer = shape_serializer(character_types.EMOTION_BASELINE)


class CharacterInput(CharacterContentSerializer):
    """All authoring fields; only slug and display_name are required."""


class _MergePatchFields:
    """Every field optional, without a default (absent keeps the current value), and nullable (``null``
    removes the field) unless the content requires it."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.allow_null = not field.required
            field.required = False
            field.default = serializers.empty
        return fields


class BehavioralThresholdsPatch(_MergePatchFields, BehavioralThresholdsSerializer):
    """Thresholds to change; ``null`` removes one."""


class EmotionBaselinePatch(_MergePatchFields, EmotionBaselineSerializer):
    """Baseline values to change; ``null`` removes one."""


class CharacterPatchInput(_MergePatchFields, CharacterContentSerializer):
    """A JSON Merge Patch (RFC 7396) of the authoring fields: send only what changes; ``null`` removes a field.

    Objects merge key by key, lists and strings replace the whole value. The slug is the URL's and cannot
    change (a body may repeat it unchanged, so whole LoreOS bodies can be sent as patches).
    """

    behavioral_thresholds = BehavioralThresholdsPatch(required=False)
    emotion_baseline = EmotionBaselinePatch(required=False)

    def get_fields(self):
        fields = super().get_fields()
        del fields["slug"]
        return fields


class ReadinessCheckSerializer(serializers.Serializer):
    key = serializers.CharField()
    passed = serializers.BooleanField()
    fix = serializers.CharField(allow_null=True, help_text="What to add; null when the check passes.")


class ReadinessSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ready", "needs_work"])
    score = serializers.IntegerField(min_value=0, max_value=100)
    passed = serializers.IntegerField()
    total = serializers.IntegerField()
    checks = ReadinessCheckSerializer(many=True)
    warnings = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))


class CharacterOutput(serializers.Serializer):
    character_id = serializers.CharField()
    slug = serializers.CharField()
    display_name = serializers.CharField()
    status = serializers.CharField()
    version_number = serializers.IntegerField(allow_null=True)
    created = serializers.BooleanField(required=False, help_text="Whether this request published a new version.")
    dropped_fields = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Top-level fields the previous version had and the new one lacks (publish and patch answers "
        "only; empty on create or when nothing was dropped).",
    )
    authoring_readiness = ReadinessSerializer()
    content = serializers.DictField(required=False, help_text="The current version's authoring fields.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CharacterListOutput(serializers.Serializer):
    characters = CharacterOutput(many=True)


class CharacterVersionOutput(serializers.Serializer):
    version_id = serializers.CharField()
    version_number = serializers.IntegerField()
    content_hash = serializers.CharField()
    created_at = serializers.DateTimeField()
    is_current = serializers.BooleanField()
    content = serializers.DictField()


class CharacterVersionListOutput(serializers.Serializer):
    slug = serializers.CharField()
    versions = CharacterVersionOutput(many=True)


class CharacterValidateOutput(serializers.Serializer):
    valid = serializers.BooleanField()
    normalized = serializers.DictField()
    authoring_readiness = ReadinessSerializer()


# --- sessions ----------------------------------------------------------------------------------------
class SessionInput(serializers.Serializer):
    character = StrictCharField(
        max_length=128,
        validators=[RegexValidator(SLUG_PATTERN, "Not a character slug.")],
        help_text="The character's slug.",
    )
    external_user_ref = StrictCharField(max_length=256, help_text="Your opaque id for the end-user.")
    proactive_enabled = StrictBooleanField(default=False)
    character_version = StrictIntegerField(
        min_value=1,
        required=False,
        help_text=(
            "Pin the session to this version number of the character. Without it the session follows the "
            "character: each turn runs on the version published when the turn starts."
        ),
    )


class SessionPatchInput(serializers.Serializer):
    character_version = StrictIntegerField(
        min_value=1,
        allow_null=True,
        required=False,
        help_text=(
            "A version number to pin the session to (moving it there), or null to follow the character again; "
            "leave it out to keep the session as it is."
        ),
    )


class StreamTokenOutput(serializers.Serializer):
    token = serializers.CharField(help_text="Pass as ?token= on this session's event stream URL; nowhere else.")
    expires_at = serializers.DateTimeField(help_text="Open the stream before this; an open stream stays open.")
    stream_url = serializers.CharField(help_text="The stream's path with the token, ready for EventSource.")


class SessionOutput(serializers.Serializer):
    session_id = serializers.CharField()
    character = serializers.CharField()
    character_version = serializers.IntegerField(
        help_text="The version the session's next turn runs on: the pinned one, or the character's current one."
    )
    character_version_pinned = serializers.BooleanField(
        help_text="True when pinned to character_version; false when the session follows each new version."
    )
    external_user_ref = serializers.CharField()
    proactive_enabled = serializers.BooleanField()
    last_cursor = serializers.IntegerField()
    user_turns = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class SessionListOutput(serializers.Serializer):
    sessions = SessionOutput(many=True)
    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as ?cursor= for the next page.")


class SessionListQuery(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)
    cursor = serializers.CharField(required=False)
    character = serializers.CharField(required=False)
    external_user_ref = serializers.CharField(required=False)


class MessageInput(serializers.Serializer):
    text = StrictCharField(help_text="The end-user's message.")
    reply_mode = serializers.ChoiceField(choices=["async"], default="async", required=False)


class MessageAcceptedOutput(serializers.Serializer):
    accepted = serializers.BooleanField()
    cursor = serializers.IntegerField(help_text="Cursor of your message.created event.")
    sent_turn_index = serializers.IntegerField()
    run_ref = serializers.CharField()
    reply_mode = serializers.CharField()


class EventSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    session_id = serializers.CharField()
    cursor = serializers.IntegerField()
    event_type = serializers.CharField(help_text="message.created, character.initiated, run.status, run.failed, ...")
    role = serializers.CharField(allow_null=True)
    payload = serializers.DictField()
    run_ref = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class EventListQuery(serializers.Serializer):
    since = serializers.IntegerField(min_value=0, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100)


class EventListOutput(serializers.Serializer):
    session_id = serializers.CharField()
    events = EventSerializer(many=True)
    next_cursor = serializers.IntegerField()


class RunOutput(serializers.Serializer):
    run_ref = serializers.CharField()
    status = serializers.CharField()
    trigger_cursor = serializers.IntegerField()
    attempts = serializers.IntegerField()
    model = serializers.CharField()
    model_calls = serializers.IntegerField()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    latency_ms = serializers.IntegerField(allow_null=True)
    error = serializers.BooleanField()
    error_code = serializers.CharField(allow_null=True)
    resource_type = serializers.CharField(allow_null=True, help_text="chat_turn or proactive_turn, once metered.")
    reserved_credits = serializers.FloatField(allow_null=True, help_text="Held before the model call.")
    credits = serializers.FloatField(allow_null=True, help_text="The settled cost; null until the run reserved.")
    usage_status = serializers.CharField(allow_null=True, help_text="reserved, then settled; null if never metered.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class RunListQuery(serializers.Serializer):
    run_ref = serializers.CharField(required=False, max_length=40, help_text="Only this run.")


class RunListOutput(serializers.Serializer):
    session_id = serializers.CharField()
    runs = RunOutput(many=True)


# --- webhook channels --------------------------------------------------------------------------------
class ChannelInput(serializers.Serializer):
    url = StrictCharField(
        max_length=2048,
        validators=[RegexValidator(r"^https?://\S+$", "An absolute http:// or https:// URL.")],
        help_text="Absolute http(s) URL that receives the signed POSTs. It must resolve to a public address.",
    )
    secret = StrictCharField(
        required=False,
        min_length=16,
        max_length=512,
        validators=[RegexValidator(r"^[!-~]+$", "Printable ASCII characters only, without spaces.")],
        help_text="Signing secret (16-512 printable characters, or 'whsec_' + base64). Omit to get a generated one.",
    )
    event_types = serializers.ListField(
        child=StrictCharField(max_length=64),
        required=False,
        max_length=50,
        help_text="Only these event types (e.g. message.created); omit for every event.",
    )


class ChannelOutput(serializers.Serializer):
    channel_id = serializers.CharField()
    kind = serializers.CharField(help_text="webhook")
    scope = serializers.ChoiceField(choices=["session", "app"])
    session_id = serializers.CharField(allow_null=True)
    url = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    status = serializers.ChoiceField(choices=["active", "disabled"])
    disabled_reason = serializers.CharField(
        allow_null=True, help_text="gone (410), failing, or operator (in the admin)."
    )
    disabled_at = serializers.DateTimeField(allow_null=True)
    consecutive_failures = serializers.IntegerField()
    last_success_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class ChannelCreatedOutput(ChannelOutput):
    signing_secret = serializers.CharField(
        required=False, help_text="Only when you sent no secret: the generated one, shown this once."
    )


class ChannelListOutput(serializers.Serializer):
    channels = ChannelOutput(many=True)


class ChannelDeletedOutput(serializers.Serializer):
    channel_id = serializers.CharField()
    deleted = serializers.BooleanField()
