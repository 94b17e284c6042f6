"""What the OpenAI surface reads from a request body, checked as OpenAI checks it (a bad field is a 400 naming
it in ``param``, before anything is written or called).

Chat completions accept OpenAI's request; what this door does with each field:

- used: ``model``, ``messages``, ``stream``, ``stream_options.include_usage``, ``user``;
- checked and ignored (the catalog model's settings apply): ``temperature`` (0-2), ``top_p`` (0-1),
  ``max_tokens`` / ``max_completion_tokens`` (≥ 1), ``presence_penalty`` / ``frequency_penalty`` (-2..2),
  ``stop``, ``seed``, ``logit_bias``, ``metadata``, ``store``, ``service_tier``, ``parallel_tool_calls``,
  ``reasoning_effort``, ``prompt_cache_key``, ``safety_identifier``, and ``tools`` / ``tool_choice`` as long
  as no call is forced (the model never calls a tool here);
- refused with 400: ``n`` other than 1, ``logprobs``, a ``response_format`` other than ``text``, a forced
  ``tool_choice``, ``tool`` (or ``function``) messages, non-text content parts (images, audio, files), and any
  field OpenAI does not define (as OpenAI refuses them).
"""

from typing import Any

from rest_framework import serializers

from apps.api.shared.validation import StrictCharField
from apps.llm.types import ChatMessage

ROLES = ("system", "developer", "user", "assistant")
# Fields accepted for compatibility and not used (see the module docstring).
IGNORED_FIELDS = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "presence_penalty",
        "frequency_penalty",
        "stop",
        "seed",
        "logit_bias",
        "metadata",
        "store",
        "service_tier",
        "parallel_tool_calls",
        "reasoning_effort",
        "prompt_cache_key",
        "safety_identifier",
        "tools",
        "tool_choice",
        "top_logprobs",
        "verbosity",
        "modalities",
    }
)
USER_MAX_CHARS = 256  # the end-user reference's length on sessions and the ledger


def _unknown_fields(data: dict, known: set[str] | frozenset[str]) -> None:
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise serializers.ValidationError({unknown[0]: ["Unrecognized request argument supplied."]})


class MessageField(serializers.Field):
    """One chat message: ``role`` and ``content`` (a string, or a list of ``{"type": "text", "text"}`` parts,
    joined), as a ChatMessage (``developer`` is a system message)."""

    def to_internal_value(self, data: Any) -> ChatMessage:
        if not isinstance(data, dict):
            raise serializers.ValidationError("Each message must be an object with 'role' and 'content'.")
        role = data.get("role")
        if role in ("tool", "function"):
            raise serializers.ValidationError({"role": ["Tool messages are not supported: no tool is ever called."]})
        if role not in ROLES:
            raise serializers.ValidationError({"role": [f"Must be one of {', '.join(ROLES)}."]})
        content = data.get("content")
        if isinstance(content, list):
            content = self._parts(content)
        elif content is None and role == "assistant":
            content = ""  # an assistant message that only called tools in another model's history
        if not isinstance(content, str):
            raise serializers.ValidationError({"content": ["Must be a string or a list of text parts."]})
        if role != "assistant" and not content.strip():
            raise serializers.ValidationError({"content": ["Must not be empty."]})
        return ChatMessage(role="system" if role == "developer" else role, content=content)

    @staticmethod
    def _parts(parts: list) -> str:
        texts = []
        for index, part in enumerate(parts):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise serializers.ValidationError(
                    {"content": [f"Part {index}: only text parts ({{'type': 'text', 'text': ...}}) are supported."]}
                )
            texts.append(part["text"])
        return "".join(texts)

    def to_representation(self, value):  # pragma: no cover - input only
        return value


class StreamOptionsInput(serializers.Serializer):
    include_usage = serializers.BooleanField(required=False, default=False)
    include_obfuscation = serializers.BooleanField(required=False)


class ChatCompletionInput(serializers.Serializer):
    model = StrictCharField(max_length=200)
    messages = serializers.ListField(child=MessageField(), allow_empty=False, max_length=1000)
    stream = serializers.BooleanField(required=False, default=False, allow_null=True)
    stream_options = StreamOptionsInput(required=False, allow_null=True)
    user = StrictCharField(required=False, max_length=USER_MAX_CHARS, allow_blank=True)
    n = serializers.IntegerField(required=False, allow_null=True)
    logprobs = serializers.BooleanField(required=False, allow_null=True)
    response_format = serializers.DictField(required=False, allow_null=True)
    temperature = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=2)
    top_p = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1)
    max_tokens = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    max_completion_tokens = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    presence_penalty = serializers.FloatField(required=False, allow_null=True, min_value=-2, max_value=2)
    frequency_penalty = serializers.FloatField(required=False, allow_null=True, min_value=-2, max_value=2)
    tool_choice = serializers.JSONField(required=False, allow_null=True)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            _unknown_fields(data, set(self.fields) | IGNORED_FIELDS)
        return super().to_internal_value(data)

    def validate_n(self, value):
        if value not in (None, 1):
            raise serializers.ValidationError("Only n=1 is supported.")
        return value

    def validate_logprobs(self, value):
        if value:
            raise serializers.ValidationError("Log probabilities are not available.")
        return value

    def validate_response_format(self, value):
        if value and value.get("type", "text") != "text":
            raise serializers.ValidationError("Only the 'text' response format is supported.")
        return value

    def validate_tool_choice(self, value):
        if value not in (None, "none", "auto"):
            raise serializers.ValidationError("No tool is ever called: only 'none' or 'auto'.")
        return value

    def validate(self, attrs):
        if attrs.get("stream_options") and not attrs.get("stream"):
            raise serializers.ValidationError(
                {"stream_options": ["The 'stream_options' parameter is only allowed when 'stream' is enabled."]}
            )
        return attrs


IMAGE_FIELDS = frozenset(
    {"prompt", "model", "n", "size", "response_format", "user", "quality", "style", "background", "moderation"}
)
IMAGE_MAX_N = 4
IMAGE_SIDE = (64, 2048)


class ImageGenerationInput(serializers.Serializer):
    """``POST images/generations``: ``prompt``, ``model`` (an image model; the default one when absent), ``n``
    (1-4), ``size`` (``WxH`` or ``auto``), ``response_format`` (``url`` or ``b64_json``), ``user``; ``quality``,
    ``style``, ``background`` and ``moderation`` are accepted and ignored."""

    prompt = StrictCharField(max_length=4000)
    model = StrictCharField(required=False, allow_null=True, max_length=200)
    n = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=IMAGE_MAX_N)
    size = StrictCharField(required=False, allow_null=True, max_length=20)
    response_format = serializers.ChoiceField(["url", "b64_json"], required=False, allow_null=True)
    user = StrictCharField(required=False, max_length=USER_MAX_CHARS, allow_blank=True)
    quality = StrictCharField(required=False, allow_null=True)
    style = StrictCharField(required=False, allow_null=True)
    background = StrictCharField(required=False, allow_null=True)
    moderation = StrictCharField(required=False, allow_null=True)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            _unknown_fields(data, IMAGE_FIELDS)
        return super().to_internal_value(data)

    def validate_size(self, value):
        if value in (None, "auto"):
            return None
        width, _, height = value.partition("x")
        low, high = IMAGE_SIDE
        if not (width.isdigit() and height.isdigit() and low <= int(width) <= high and low <= int(height) <= high):
            raise serializers.ValidationError(f"Must be 'auto' or 'WIDTHxHEIGHT' with sides from {low} to {high}.")
        return int(width), int(height)
