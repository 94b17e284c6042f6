"""OpenAPI 3.1 for ``/openai/v1``, written out: the bodies are OpenAI's (models, chat completions and their
chunks, images), not DRF serializers'. Limits come from this surface's serializers.

Served at ``GET /openai/v1/openapi.json``. ``tests/test_openapi.py`` of this surface checks that every route of
``urls.py`` is documented and validates real responses against the document; ``tests/test_schema_fuzz_openai.py``
fuzzes the server from it.
"""

from typing import Any

from apps.api.openai.serializers import IGNORED_FIELDS, IMAGE_MAX_N, IMAGE_SIDE, ROLES, USER_MAX_CHARS
from apps.api.shared.openapi import json_content, obj, ref, text_schema
from apps.core.shapes import NOT_BLANK_PATTERN

STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
INTEGER = {"type": "integer"}
MESSAGE_MAX_ITEMS = 1000
TEXT_PART = obj(
    {"type": {"const": "text"}, "text": STRING},
    description="A text part; parts are joined. Images, audio and files are refused.",
)


def _nullable_number(minimum: float | None = None, maximum: float | None = None, kind: str = "number") -> dict:
    schema: dict[str, Any] = {"type": [kind, "null"]}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def _message(roles: list[str], *, content_required: bool) -> dict[str, Any]:
    """A message of one of ``roles``: text, or text parts of which one at least is not blank (unless an assistant's,
    whose content may be empty or null: it only called tools in another model's history)."""
    if content_required:
        text = {"type": "string", "pattern": NOT_BLANK_PATTERN}
        parts = {"type": "array", "items": TEXT_PART, "contains": {"properties": {"text": text}}}
    else:
        text, parts = STRING, {"type": "array", "items": TEXT_PART}
    content: dict[str, Any] = {"oneOf": [text, parts]}
    if not content_required:
        content = {"oneOf": [text, parts, {"type": "null"}]}
    return {
        "type": "object",
        "properties": {"role": {"enum": roles}, "content": content},
        "required": ["role", "content"] if content_required else ["role"],
    }


def _chat_request() -> dict[str, Any]:
    used: dict[str, Any] = {
        "model": {
            **text_schema(max_length=200),
            "description": "`character:<slug>` (a published character) or a catalog model",
        },
        "messages": {
            "type": "array",
            "minItems": 1,
            "maxItems": MESSAGE_MAX_ITEMS,
            "items": ref("ChatMessage"),
            "description": "With `user` and a character, the last message (the user's) is the turn answered.",
        },
        "stream": {"type": ["boolean", "null"], "default": False},
        "stream_options": {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {"include_usage": {"type": "boolean"}, "include_obfuscation": {"type": "boolean"}},
                },
                {"type": "null"},
            ],
            "description": "Only with `stream: true`",
        },
        "user": {
            "type": "string",
            "maxLength": USER_MAX_CHARS,
            "description": "The end-user: with a character, their session (persona, emotion, memory) carries on",
        },
        "n": {"enum": [1, None]},
        "logprobs": {"enum": [False, None]},
        "response_format": {
            "anyOf": [{"type": "object", "properties": {"type": {"const": "text"}}}, {"type": "null"}],
        },
        "temperature": _nullable_number(0, 2),
        "top_p": _nullable_number(0, 1),
        "max_tokens": _nullable_number(1, kind="integer"),
        "max_completion_tokens": _nullable_number(1, kind="integer"),
        "presence_penalty": _nullable_number(-2, 2),
        "frequency_penalty": _nullable_number(-2, 2),
        "tool_choice": {"enum": ["none", "auto", None], "description": "No tool is ever called"},
    }
    ignored = {name: {"description": "Accepted and ignored"} for name in sorted(IGNORED_FIELDS - set(used))}
    return {
        "type": "object",
        "properties": {**used, **ignored},
        "required": ["model", "messages"],
        "additionalProperties": False,
        # stream_options only with stream: true
        "dependentSchemas": {
            "stream_options": {
                "anyOf": [
                    {"properties": {"stream": {"const": True}}},
                    {"properties": {"stream_options": {"type": "null"}}},
                ]
            }
        },
    }


def _usage() -> dict[str, Any]:
    return obj({"prompt_tokens": INTEGER, "completion_tokens": INTEGER, "total_tokens": INTEGER})


def _completion_fields(object_name: str) -> dict[str, Any]:
    return {
        "id": {"type": "string", "pattern": "^chatcmpl-"},
        "object": {"const": object_name},
        "created": INTEGER,
        "model": STRING,
        "system_fingerprint": {"type": "null"},
    }


SCHEMAS: dict[str, Any] = {
    "Error": obj(
        {
            "error": obj(
                {"message": STRING, "type": STRING, "param": NULLABLE_STRING, "code": NULLABLE_STRING},
            )
        }
    ),
    "Model": obj(
        {
            "id": {"type": "string", "description": "`character:<slug>` for a character"},
            "object": {"const": "model"},
            "created": INTEGER,
            "owned_by": {"type": "string", "description": "The app's id for its characters; `dramatis` otherwise"},
        }
    ),
    "ModelList": obj({"object": {"const": "list"}, "data": {"type": "array", "items": ref("Model")}}),
    "ChatMessage": {
        "oneOf": [
            _message([role for role in ROLES if role != "assistant"], content_required=True),
            _message(["assistant"], content_required=False),
        ]
    },
    "ChatCompletionRequest": _chat_request(),
    "ChatCompletion": obj(
        {
            **_completion_fields("chat.completion"),
            "choices": {
                "type": "array",
                "items": obj(
                    {
                        "index": INTEGER,
                        "message": obj(
                            {"role": {"const": "assistant"}, "content": STRING, "refusal": {"type": "null"}}
                        ),
                        "logprobs": {"type": "null"},
                        "finish_reason": {"const": "stop"},
                    }
                ),
            },
            "usage": _usage(),
        }
    ),
    "ChatCompletionChunk": obj(
        {
            **_completion_fields("chat.completion.chunk"),
            "choices": {
                "type": "array",
                "items": obj(
                    {
                        "index": INTEGER,
                        "delta": obj({"role": {"const": "assistant"}, "content": STRING}, []),
                        "logprobs": {"type": "null"},
                        "finish_reason": {"enum": ["stop", None]},
                    }
                ),
            },
            "usage": _usage(),
        },
        ["id", "object", "created", "model", "choices"],
        description="One `data:` frame of a stream; the last (with include_usage) has no choices and the usage.",
    ),
    "ImageRequest": {
        "type": "object",
        "properties": {
            "prompt": text_schema(max_length=4000),
            "model": {**text_schema(max_length=200), "type": ["string", "null"], "description": "An image model"},
            "n": _nullable_number(1, IMAGE_MAX_N, kind="integer"),
            "size": {
                "anyOf": [{"const": "auto"}, {"type": "string", "pattern": r"^[0-9]+x[0-9]+$"}, {"type": "null"}],
                "description": f"`auto` or `WIDTHxHEIGHT`, sides {IMAGE_SIDE[0]}-{IMAGE_SIDE[1]}",
            },
            "response_format": {"enum": ["url", "b64_json", None]},
            "user": {"type": "string", "maxLength": USER_MAX_CHARS},
            **{
                name: {"type": ["string", "null"], "description": "Accepted and ignored"}
                for name in ("quality", "style", "background", "moderation")
            },
        },
        "required": ["prompt"],
        "additionalProperties": False,
    },
    "ImagesResponse": obj(
        {
            "created": INTEGER,
            "data": {
                "type": "array",
                "items": {
                    "oneOf": [
                        obj({"url": {"type": "string", "format": "uri"}, "revised_prompt": STRING}),
                        obj({"b64_json": STRING, "revised_prompt": STRING}),
                    ]
                },
            },
        }
    ),
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, **json_content(ref("Error"))}


ERRORS = {
    "401": _error("invalid_api_key: a missing, unknown, revoked or expired key"),
    "429": _error("rate_limit_exceeded (Retry-After), or insufficient_quota for a spent plan quota"),
}
WRITE_ERRORS = {
    "400": _error("invalid_request_error: a field OpenAI's API would refuse, named in `param`"),
    "402": _error("insufficient_quota: no room in a budget or the app's balance; nothing written"),
    "404": _error("model_not_found: unknown, another app's character, or not published"),
    "413": _error("payload_too_large: the body is over the request size limit"),
    "503": _error("The model or the database could not be reached"),
}
EVENT_STREAM = {
    "text/event-stream": {
        "schema": {
            "description": (
                "One `data:` frame each: the role first, the content's deltas, a closing chunk with `finish_reason`, "
                "the usage chunk (with include_usage), then `data: [DONE]`; a failure after the start is a "
                "`data: {error}` frame."
            ),
            "type": "object",
            "properties": {
                "event": {"const": "message"},
                "data": {
                    "oneOf": [
                        {"const": "[DONE]"},
                        {
                            "type": "string",
                            "pattern": "^[{]",
                            "contentMediaType": "application/json",
                            "contentSchema": {"anyOf": [ref("ChatCompletionChunk"), ref("Error")]},
                        },
                    ]
                },
            },
            "required": ["data"],
        }
    }
}


def _operation(operation_id: str, summary: str, responses: dict, *, body: str | None = None, errors=None, params=None):
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "responses": {**responses, **ERRORS, **(errors or {})},
    }
    if body is not None:
        operation["requestBody"] = {"required": True, **json_content(ref(body))}
    if params:
        operation["parameters"] = params
    return operation


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Dramatis OpenAI-compatible API",
            "version": "1.0.0",
            "description": "OpenAI's models, chat completions and images under /openai/v1; characters are models "
            "(`character:<slug>`). See docs/integrators/openai-api.md.",
        },
        "servers": [{"url": "/openai/v1"}],
        "security": [{"Bearer": []}],
        "components": {"securitySchemes": {"Bearer": {"type": "http", "scheme": "bearer"}}, "schemas": SCHEMAS},
        "paths": {
            "/models": {
                "get": _operation(
                    "models_list",
                    "The app's published characters and the catalog's models",
                    {"200": {"description": "OK", **json_content(ref("ModelList"))}},
                )
            },
            "/models/{model}": {
                "parameters": [{"name": "model", "in": "path", "required": True, "schema": STRING}],
                "get": _operation(
                    "model_get",
                    "One model",
                    {"200": {"description": "OK", **json_content(ref("Model"))}},
                    errors={"404": WRITE_ERRORS["404"]},
                ),
            },
            "/chat/completions": {
                "post": _operation(
                    "chat_completion_create",
                    "A chat completion; with `stream: true`, chunks as Server-Sent Events",
                    {
                        "200": {
                            "description": "The completion, or its chunks with `stream: true`",
                            "content": {"application/json": {"schema": ref("ChatCompletion")}, **EVENT_STREAM},
                        }
                    },
                    body="ChatCompletionRequest",
                    errors=WRITE_ERRORS,
                )
            },
            "/images/generations": {
                "post": _operation(
                    "image_generate",
                    "Draw pictures from a prompt with an image model",
                    {"200": {"description": "OK", **json_content(ref("ImagesResponse"))}},
                    body="ImageRequest",
                    errors=WRITE_ERRORS,
                )
            },
        },
    }
