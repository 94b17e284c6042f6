"""The studio surface's request bodies and queries, as the seed names their fields.

Every text field takes JSON strings only (``StrictCharField``); unknown fields are ignored, as the seed's
clients may send more than we read.
"""

from django.conf import settings
from rest_framework import serializers

from apps.api.shared.validation import StrictCharField
from apps.core.fields import StrictBooleanField, StrictIntegerField

MODEL_TYPES = ("llm", "sd")
# Roles a client may write. The seed calls the character's side "agent"; OpenAI-style "assistant" is the same.
AGENT_ROLES = ("agent", "assistant")
COMPLETION_ROLES = ("system", "user", *AGENT_ROLES)
TRANSCRIPT_ROLES = ("user", *AGENT_ROLES)
MIN_AGENT_AGE = 18
MAX_AGENT_AGE = 1000
MAX_MESSAGES = 200
LIST_LIMIT_MAX = 500


class ModelQuery(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=MODEL_TYPES, error_messages={"invalid_choice": "Must be 'llm' or 'sd'.", "required": "Required."}
    )


def _message_field(roles: tuple[str, ...]):
    class Message(serializers.Serializer):
        role = serializers.ChoiceField(choices=roles)
        content = StrictCharField(max_length=settings.MESSAGE_MAX_CHARS, trim_whitespace=False)

    return Message


CompletionMessage = _message_field(COMPLETION_ROLES)
TranscriptMessageInput = _message_field(TRANSCRIPT_ROLES)


class CompletionInput(serializers.Serializer):
    messages = CompletionMessage(many=True, allow_empty=False, max_length=MAX_MESSAGES)
    llm_id = StrictCharField(max_length=100)
    agent_id = StrictCharField(max_length=40, required=False, allow_null=True)
    stream = StrictBooleanField(required=False, default=False)


class ConversationInput(serializers.Serializer):
    title = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    system_prompt = StrictCharField(max_length=8000, required=False, allow_blank=True, default="")
    llm_id = StrictCharField(max_length=100, required=False, allow_blank=True, allow_null=True, default="")
    agent_id = StrictCharField(max_length=40, required=False, allow_null=True, allow_blank=True)
    messages = TranscriptMessageInput(many=True, required=False, default=list, max_length=MAX_MESSAGES)


class ListQuery(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=LIST_LIMIT_MAX, required=False, default=100)


class MessageInput(serializers.Serializer):
    content = StrictCharField(max_length=settings.MESSAGE_MAX_CHARS)
    llm_id = StrictCharField(max_length=100, required=False, allow_blank=True, allow_null=True, default="")
    verbose = StrictBooleanField(required=False, default=False)
    stream = StrictBooleanField(required=False, default=False)


class AgentInput(serializers.Serializer):
    name = StrictCharField(max_length=120)
    appearance_prompt = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")
    personality_prompt = StrictCharField(max_length=4000, required=False, allow_blank=True, default="")
    description = StrictCharField(max_length=4000, required=False, allow_blank=True, default="")
    sd_model_id = StrictCharField(max_length=100)
    age = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=MIN_AGENT_AGE,
        max_value=MAX_AGENT_AGE,
        error_messages={"min_value": f"Agents must be {MIN_AGENT_AGE} or older."},
    )


class ImageInput(serializers.Serializer):
    prompt = StrictCharField(max_length=2000)
    sd_model_id = StrictCharField(max_length=100)
    conversation_id = StrictCharField(max_length=40, required=False, allow_null=True, allow_blank=True)


class ImagePageQuery(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, required=False, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=100, required=False, default=10)
