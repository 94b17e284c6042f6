"""OpenAPI 3.1 for ``/emotion/v1``, written out (the bodies are molroo's, not DRF serializers').

Served at ``GET /emotion/v1/openapi.json``. ``tests/test_openapi.py`` of this surface validates real
responses of every endpoint against these schemas, so the document cannot drift from the server.
"""

from typing import Any

from apps.api.emotion.serializers import CONTEXT_MAX_CHARS, EVENT_TYPES, MAX_ELAPSED_SECONDS, PROACTIVE_TRIGGERS


def _obj(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or list(properties), **extra}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


NUMBER_01 = {"type": "number", "minimum": 0, "maximum": 1}
NUMBER_11 = {"type": "number", "minimum": -1, "maximum": 1}
TIMESTAMP = {"type": "string", "format": "date-time"}
SESSION_ID = {"type": "string", "maxLength": 40}
JSON_OBJECT = {"type": "object"}

SCHEMAS: dict[str, Any] = {
    "Error": _obj(
        {
            "error": _obj(
                {
                    "code": {
                        "type": "string",
                        "examples": ["UNAUTHORIZED", "VALIDATION_ERROR", "INVALID_PRESET", "NOT_FOUND", "RATE_LIMIT"],
                    },
                    "status": {"type": "integer"},
                    "message": {"type": "string"},
                    "details": _obj(
                        {
                            "fields": {
                                "type": "object",
                                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                            }
                        }
                    ),
                },
                ["code", "status", "message"],
            )
        }
    ),
    "VAD": _obj({"V": NUMBER_11, "A": NUMBER_01, "D": NUMBER_11}),
    "Appraisal": _obj(
        {
            "goal_relevance": NUMBER_01,
            "goal_congruence": NUMBER_11,
            "expectedness": NUMBER_01,
            "controllability": NUMBER_01,
            "agency": NUMBER_11,
            "norm_compatibility": NUMBER_11,
        },
        additionalProperties=False,
    ),
    "DiscreteEmotion": _obj({"primary": {"type": "string"}, "secondary": {"type": "string"}, "intensity": NUMBER_01}),
    "SoulStage": _obj(
        {"id": {"type": "integer", "minimum": 1, "maximum": 15}, "name": {"type": "string"}}, ["id", "name"]
    ),
    "Needs": _obj({"autonomy": NUMBER_01, "competence": NUMBER_01, "relatedness": NUMBER_01}),
    "Relationship": _obj(
        {
            "trust": NUMBER_01,
            "attachment_style": {"type": "string", "enum": ["secure", "anxious", "avoidant", "fearful"]},
            "bond": NUMBER_01,
            "unhealthy_patterns": {"type": "array", "items": {"type": "string"}},
        }
    ),
    "PromptData": _obj(
        {
            "system": JSON_OBJECT,
            "context": JSON_OBJECT,
            "instruction": JSON_OBJECT,
            "formatted": _obj(
                {
                    "system_prompt": {"type": "string"},
                    "context_block": {"type": "string"},
                    "instruction_block": {"type": "string"},
                }
            ),
        }
    ),
    "ProactiveHint": _obj(
        {
            "enabled": {"type": "boolean"},
            "next_check_at": {"type": ["string", "null"], "format": "date-time"},
            "pending_actions": {
                "type": "array",
                "items": _obj({"id": {"type": "string"}, "type": {"type": "string"}, "priority": {"type": "string"}}),
            },
        }
    ),
    "TurnResult": _obj(
        {
            "appraisal": _ref("Appraisal"),
            "new_emotion": _ref("VAD"),
            "emotion_intensity": NUMBER_01,
            "discrete_emotion": _ref("DiscreteEmotion"),
            "stage_transition": {"type": "boolean"},
            "body_budget": NUMBER_01,
            "soul_stage": _ref("SoulStage"),
            "need_state": _ref("Needs"),
            "emotional_overflow": {"type": "boolean"},
            "relationship": _ref("Relationship"),
            "proactive_hint": _ref("ProactiveHint"),
            "prompt_data": _ref("PromptData"),
        }
    ),
    "State": _obj(
        {
            "emotion": _ref("VAD"),
            "emotion_intensity": NUMBER_01,
            "discrete_emotion": _ref("DiscreteEmotion"),
            "body_budget": NUMBER_01,
            "soul_stage": _ref("SoulStage"),
            "need_state": _ref("Needs"),
            "regulation": _obj(
                {"active_strategy": {"type": ["string", "null"]}, "history": {"type": "array", "items": JSON_OBJECT}}
            ),
            "affect_dynamics": _obj({"variability": {"type": "number"}, "instability": {"type": "number"}}),
            "relationship": _ref("Relationship"),
            "prompt_data": _ref("PromptData"),
        }
    ),
    "PersonaInput": {
        "type": "object",
        "description": "A preset, a custom persona, or both (custom fields win).",
        "properties": {
            "preset": {"type": "string"},
            "identity": _obj(
                {
                    "name": {"type": "string"},
                    "core_values": {"type": "array", "items": {"type": "string"}},
                    "speaking_style": {"type": "string"},
                    "role": {"type": "string"},
                    "language": {"type": "string"},
                },
                [],
            ),
            "personality": _obj(
                {
                    **{trait: NUMBER_01 for trait in ("O", "C", "E", "A", "N", "H")},
                    "facets": {"type": "object", "additionalProperties": NUMBER_01},
                },
                [],
            ),
            "emotion_config": JSON_OBJECT,
            "goals": {"type": "array", "items": {"type": "string"}},
        },
    },
    "SessionCreated": _obj(
        {"sessionId": SESSION_ID, "persona": JSON_OBJECT, "config": JSON_OBJECT, "createdAt": TIMESTAMP}
    ),
    "Session": _obj(
        {
            "sessionId": SESSION_ID,
            "persona": JSON_OBJECT,
            "config": JSON_OBJECT,
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
            "turnCount": {"type": "integer", "minimum": 0},
            "lastTurnAt": {"type": ["string", "null"], "format": "date-time"},
            "proactive": _ref("ProactivePreferences"),
        }
    ),
    "SessionList": _obj(
        {
            "sessions": {
                "type": "array",
                "items": _obj(
                    {
                        "sessionId": SESSION_ID,
                        "preset": {"type": ["string", "null"]},
                        "name": {"type": ["string", "null"]},
                        "turnCount": {"type": "integer"},
                        "createdAt": TIMESTAMP,
                        "updatedAt": TIMESTAMP,
                    }
                ),
            },
            "cursor": {"type": ["string", "null"]},
        }
    ),
    "Preset": _obj(
        {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "personality": _obj({trait: NUMBER_01 for trait in ("O", "C", "E", "A", "N")}),
            "goals": {"type": "array", "items": {"type": "string"}},
            "emotion_config": JSON_OBJECT,
        }
    ),
    "TurnInput": {
        "type": "object",
        "description": "The simple form {sessionId, message} or the full form {sessionId, event, ...}.",
        "properties": {
            "sessionId": SESSION_ID,
            "userId": {"type": "string", "description": "Extension: a separate relationship per end-user."},
            "message": {"type": "string", "minLength": 1},
            "event": _obj(
                {"description": {"type": "string", "minLength": 1}, "source": {"enum": ["user", "system", "internal"]}}
            ),
            "elapsedSeconds": {"type": "number", "minimum": 0, "maximum": MAX_ELAPSED_SECONDS},
            "event_context": {"type": "string", "maxLength": CONTEXT_MAX_CHARS},
        },
        "required": ["sessionId"],
        "oneOf": [{"required": ["message"]}, {"required": ["event"]}],
    },
    "AppraisalTurnInput": _obj(
        {
            "sessionId": SESSION_ID,
            "userId": {"type": "string"},
            "appraisal": _ref("Appraisal"),
            "context": {"type": "string", "maxLength": CONTEXT_MAX_CHARS},
            "elapsedSeconds": {"type": "number", "minimum": 0, "maximum": MAX_ELAPSED_SECONDS},
        },
        ["sessionId", "appraisal"],
    ),
    "ProactiveAction": _obj(
        {
            "id": {"type": "string"},
            "type": {"enum": list(PROACTIVE_TRIGGERS)},
            "message": {"type": "string"},
            "priority": {"enum": ["low", "medium", "high"]},
            "metadata": JSON_OBJECT,
            "created_at": TIMESTAMP,
        }
    ),
    "ProactivePreferences": _obj(
        {
            "enabled": {"type": "boolean"},
            "triggers": {"type": "object", "additionalProperties": {"type": "boolean"}},
        }
    ),
    "ProactivePreferencesInput": {
        "type": "object",
        "properties": {
            "enabled": {"type": "boolean"},
            "triggers": {
                "oneOf": [
                    {"type": "array", "items": {"enum": list(PROACTIVE_TRIGGERS)}},
                    {"type": "object", "additionalProperties": {"type": "boolean"}},
                ]
            },
        },
        "minProperties": 1,
    },
    "WebhookInput": _obj(
        {
            "url": {"type": "string", "format": "uri"},
            "secret": {"type": "string", "minLength": 16, "maxLength": 512},
            "events": {"type": "array", "items": {"enum": list(EVENT_TYPES)}, "minItems": 1},
        }
    ),
    "Webhook": _obj(
        {
            "id": {"type": "string"},
            "url": {"type": "string"},
            "events": {"type": "array", "items": {"enum": list(EVENT_TYPES)}},
            "created_at": TIMESTAMP,
        }
    ),
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _ok(schema: dict[str, Any], status: str = "200", description: str = "OK") -> dict[str, Any]:
    return {status: {"description": description, **_json(schema)}}


ERRORS = {
    "400": {"description": "VALIDATION_ERROR or INVALID_PRESET", **_json(_ref("Error"))},
    "401": {"description": "UNAUTHORIZED", **_json(_ref("Error"))},
    "404": {"description": "NOT_FOUND", **_json(_ref("Error"))},
    "429": {"description": "RATE_LIMIT", **_json(_ref("Error"))},
}
SESSION_PARAM = {"name": "sessionId", "in": "path", "required": True, "schema": SESSION_ID}


def _operation(operation_id: str, summary: str, responses: dict, body: dict | None = None, params=None) -> dict:
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary, "responses": {**responses, **ERRORS}}
    if body is not None:
        operation["requestBody"] = {"required": True, **_json(body)}
    if params:
        operation["parameters"] = params
    return operation


def openapi_document() -> dict[str, Any]:
    list_params = [
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
        },
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Dramatis emotion API (molroo-compatible)",
            "version": "1.0.0",
            "description": "molroo's REST v1 under /emotion/v1; see docs/integrators/emotion-api.md.",
        },
        "servers": [{"url": "/emotion/v1"}],
        "security": [{"ApiKey": []}],
        "components": {
            "securitySchemes": {"ApiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": {
            "/persona": {
                "post": _operation(
                    "persona_create", "Create a session", _ok(_ref("SessionCreated"), "201"), _ref("PersonaInput")
                ),
                "get": _operation("persona_list", "List sessions", _ok(_ref("SessionList")), params=list_params),
            },
            "/persona/{sessionId}": {
                "parameters": [SESSION_PARAM],
                "get": _operation("persona_get", "Get a session", _ok(_ref("Session"))),
                "delete": _operation(
                    "persona_delete",
                    "Delete a session and all its state",
                    _ok(_obj({"deleted": {"const": True}, "id": SESSION_ID})),
                ),
            },
            "/persona/{sessionId}/stream-token": {
                "parameters": [SESSION_PARAM],
                "post": _operation(
                    "persona_stream_token_create",
                    "Mint a short-lived token for opening this session's WebSocket from a browser (?token=)",
                    _ok(_obj({"token": {"type": "string"}, "expiresAt": TIMESTAMP, "url": {"type": "string"}}), "201"),
                ),
            },
            "/presets": {
                "get": _operation("preset_list", "The presets", _ok({"type": "array", "items": _ref("Preset")}))
            },
            "/turn": {"post": _operation("turn", "Process a turn", _ok(_ref("TurnResult")), _ref("TurnInput"))},
            "/turn/appraisal": {
                "post": _operation(
                    "turn_appraisal",
                    "Process a supplied appraisal",
                    _ok(_ref("TurnResult")),
                    _ref("AppraisalTurnInput"),
                )
            },
            "/state/{sessionId}": {
                "parameters": [SESSION_PARAM],
                "get": _operation("state_get", "Full emotional state", _ok(_ref("State"))),
            },
            "/proactive/{sessionId}": {
                "parameters": [SESSION_PARAM],
                "get": _operation(
                    "proactive_list",
                    "Pending proactive actions",
                    _ok({"type": "array", "items": _ref("ProactiveAction")}),
                ),
            },
            "/proactive/{sessionId}/preferences": {
                "parameters": [SESSION_PARAM],
                "put": _operation(
                    "proactive_preferences_update",
                    "Configure proactive behaviour",
                    _ok({**_ref("ProactivePreferences"), "properties": {"sessionId": SESSION_ID}}),
                    _ref("ProactivePreferencesInput"),
                ),
            },
            "/webhook/{sessionId}": {
                "parameters": [SESSION_PARAM],
                "post": _operation(
                    "webhook_create", "Register a webhook", _ok(_ref("Webhook"), "201"), _ref("WebhookInput")
                ),
                "get": _operation(
                    "webhook_list", "The session's webhooks", _ok({"type": "array", "items": _ref("Webhook")})
                ),
            },
        },
    }
