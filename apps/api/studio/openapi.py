"""OpenAPI 3.1 for ``/studio/api/v1``, written out (the bodies are the seed's, not DRF serializers').

Served at ``GET /studio/api/v1/openapi.json`` and rendered at ``/reference/studio/``. ``tests/test_openapi.py``
validates real responses of every endpoint against it, so the document cannot drift from the server.
"""

from typing import Any

from apps.api.studio.serializers import COMPLETION_ROLES, MIN_AGENT_AGE, MODEL_TYPES, TRANSCRIPT_ROLES

STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time"}
NULLABLE_NUMBER = {"type": ["number", "null"]}


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties) if required is None else required}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "array", "items": items, **extra}


def _message(roles: tuple[str, ...]) -> dict[str, Any]:
    return _obj({"role": {"enum": list(roles)}, "content": {"type": "string", "minLength": 1}})


SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": STRING}),
    "Model": _obj(
        {
            "id": STRING,
            "name": STRING,
            "max_context": {"type": ["integer", "null"]},
            "cost_per_1k_tokens": NULLABLE_NUMBER,
            "input_cost_per_1k_tokens": {"type": "number"},
            "output_cost_per_1k_tokens": {"type": "number"},
            "cost_per_image": {"type": "number"},
            "width": {"type": "integer"},
            "height": {"type": "integer"},
            "is_default": {"type": "boolean"},
        },
        ["id", "name", "max_context", "cost_per_1k_tokens"],
    ),
    "CompletionInput": _obj(
        {
            "messages": _array(_message(COMPLETION_ROLES), minItems=1),
            "llm_id": STRING,
            "agent_id": NULLABLE_STRING,
            "stream": {"type": "boolean", "description": "Answer as Server-Sent Events (delta, then done)."},
        },
        ["messages", "llm_id"],
    ),
    "Message": _obj(
        {
            "id": STRING,
            "content": STRING,
            "role": {"enum": ["agent", "user"]},
            "created_at": TIMESTAMP,
            "image": _obj(
                {
                    "id": STRING,
                    "url": STRING,
                    "thumbnail_url": STRING,
                    "url_expires_at": TIMESTAMP,
                    "prompt": STRING,
                },
                ["id", "url"],
            ),
            "selfie": {"type": "object"},
            "thought_process": {"type": "object", "description": "With verbose: the prompt parts, emotion, timings."},
        },
        ["id", "content", "role", "created_at"],
    ),
    "ConversationInput": _obj(
        {
            "title": STRING,
            "system_prompt": STRING,
            "llm_id": NULLABLE_STRING,
            "agent_id": NULLABLE_STRING,
            "messages": _array(_message(TRANSCRIPT_ROLES)),
        },
        [],
    ),
    "Conversation": _obj(
        {
            "id": STRING,
            "title": STRING,
            "system_prompt": STRING,
            "llm_id": NULLABLE_STRING,
            "last_message_at": {"type": ["string", "null"], "format": "date-time"},
            "agent_id": NULLABLE_STRING,
            "created_at": TIMESTAMP,
        }
    ),
    "MessageInput": _obj(
        {
            "content": {"type": "string", "minLength": 1},
            "llm_id": NULLABLE_STRING,
            "verbose": {"type": "boolean"},
            "stream": {"type": "boolean", "description": "Answer as Server-Sent Events (delta, then done)."},
        },
        ["content"],
    ),
    "AgentInput": _obj(
        {
            "name": STRING,
            "appearance_prompt": STRING,
            "personality_prompt": STRING,
            "description": STRING,
            "sd_model_id": STRING,
            "age": {"type": ["integer", "null"], "minimum": MIN_AGENT_AGE},
        },
        ["name", "sd_model_id"],
    ),
    "Agent": _obj(
        {
            "id": STRING,
            "name": STRING,
            "appearance_prompt": STRING,
            "personality_prompt": STRING,
            "description": STRING,
            "avatar_url": NULLABLE_STRING,
        }
    ),
    "ImageInput": _obj(
        {"prompt": {"type": "string", "minLength": 1}, "sd_model_id": STRING, "conversation_id": NULLABLE_STRING},
        ["prompt", "sd_model_id"],
    ),
    "Image": _obj(
        {
            "id": STRING,
            "prompt": STRING,
            "url": STRING,
            "created_at": TIMESTAMP,
            "thumbnail_url": STRING,
            "url_expires_at": TIMESTAMP,
            "conversation_id": NULLABLE_STRING,
            "sd_model_id": STRING,
        },
        ["id", "prompt", "url", "created_at"],
    ),
    "ImagePage": _obj(
        {
            "data": _array(_ref("Image")),
            "pagination": _obj(
                {
                    "total_items": {"type": "integer"},
                    "current_page": {"type": "integer"},
                    "page_size": {"type": "integer"},
                    "total_pages": {"type": "integer"},
                    "next_page": {"type": ["integer", "null"]},
                    "prev_page": {"type": ["integer", "null"]},
                }
            ),
        }
    ),
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, **_json(_ref("Error"))}


ERRORS = {
    "400": _error("Invalid parameters or request format"),
    "401": _error("Missing or bad API key"),
    "402": _error("Insufficient account balance"),
    "404": _error("Resource not found (or another app's)"),
    "429": _error("Rate limit exceeded (Retry-After)"),
    "500": _error("Internal error"),
}
EVENT_STREAM = {"text/event-stream": {"schema": {"type": "string", "description": "delta frames, then done"}}}


def _operation(
    operation_id: str,
    summary: str,
    status: str,
    schema: dict,
    *,
    body: str | None = None,
    body_required: bool = True,
    params=None,
    sse=False,
) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "OK", **_json(schema)}
    if sse:
        ok["content"].update(EVENT_STREAM)
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary, "responses": {status: ok, **ERRORS}}
    if body is not None:
        operation["requestBody"] = {"required": body_required, **_json(_ref(body))}
    if params:
        operation["parameters"] = params
    return operation


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": STRING}


def _query(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


LIMIT = _query("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 100})


def openapi_document() -> dict[str, Any]:
    conversation = _path_param("conversation_id")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Dramatis studio API (characters, conversations and images)",
            "version": "1.0.0",
            "description": "The characters+images API under /studio/api/v1; see docs/integrators/studio-api.md.",
        },
        "servers": [{"url": "/studio/api/v1"}],
        "security": [{"ApiKey": []}],
        "components": {"securitySchemes": {"ApiKey": {"type": "http", "scheme": "bearer"}}, "schemas": SCHEMAS},
        "paths": {
            "/models": {
                "get": _operation(
                    "models_list",
                    "Chat (llm) or image (sd) models of the catalog",
                    "200",
                    _array(_ref("Model")),
                    params=[_query("type", {"enum": list(MODEL_TYPES)}, required=True)],
                )
            },
            "/completions": {
                "post": _operation(
                    "completion_create", "A stateless answer", "200", _ref("Message"), body="CompletionInput", sse=True
                )
            },
            "/conversations": {
                "get": _operation(
                    "conversations_list",
                    "Conversations, newest first",
                    "200",
                    _array(_ref("Conversation")),
                    params=[LIMIT],
                ),
                "post": _operation(
                    "conversation_create",
                    "Start a conversation",
                    "201",
                    _ref("Conversation"),
                    body="ConversationInput",
                    body_required=False,  # every field is optional: no body starts an empty conversation
                ),
            },
            "/conversations/{conversation_id}": {
                "get": _operation(
                    "conversation_get", "One conversation", "200", _ref("Conversation"), params=[conversation]
                )
            },
            "/conversations/{conversation_id}/messages": {
                "get": _operation(
                    "messages_list",
                    "The conversation's messages",
                    "200",
                    _array(_ref("Message")),
                    params=[conversation],
                ),
                "post": _operation(
                    "message_create",
                    "Send a message; the agent's reply",
                    "201",
                    _ref("Message"),
                    body="MessageInput",
                    params=[conversation],
                    sse=True,
                ),
            },
            "/agents": {
                "get": _operation("agents_list", "Agents, newest first", "200", _array(_ref("Agent")), params=[LIMIT]),
                "post": _operation(
                    "agent_create", "Create an agent and its avatar", "201", _ref("Agent"), body="AgentInput"
                ),
            },
            "/agents/{agent_id}": {
                "get": _operation("agent_get", "One agent", "200", _ref("Agent"), params=[_path_param("agent_id")])
            },
            "/images": {
                "get": _operation(
                    "images_list",
                    "Generated images, a page at a time",
                    "200",
                    _ref("ImagePage"),
                    params=[
                        _query("page", {"type": "integer", "minimum": 1, "default": 1}),
                        _query("page_size", {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}),
                    ],
                ),
                "post": _operation("image_create", "Draw an image", "201", _ref("Image"), body="ImageInput"),
            },
        },
    }
