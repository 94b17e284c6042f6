"""The document's part for molroo's REST v1 sessions (``/persona``, ``/turn``, ``/state``, ``/proactive``,
``/webhook``)."""

from typing import Any

from apps.api.emotion.openapi.common import (
    JSON_OBJECT,
    NUMBER_01,
    NUMBER_11,
    SESSION_ID,
    TIMESTAMP,
    obj,
    ok,
    operation,
    page_params,
    path_param,
    ref,
)
from apps.api.emotion.serializers import CONTEXT_MAX_CHARS, EVENT_TYPES, MAX_ELAPSED_SECONDS, PROACTIVE_TRIGGERS

SCHEMAS: dict[str, Any] = {
    "VAD": obj({"V": NUMBER_11, "A": NUMBER_01, "D": NUMBER_11}),
    "Appraisal": obj(
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
    "DiscreteEmotion": obj({"primary": {"type": "string"}, "secondary": {"type": "string"}, "intensity": NUMBER_01}),
    "SoulStage": obj(
        {"id": {"type": "integer", "minimum": 1, "maximum": 15}, "name": {"type": "string"}}, ["id", "name"]
    ),
    "Needs": obj({"autonomy": NUMBER_01, "competence": NUMBER_01, "relatedness": NUMBER_01}),
    "Relationship": obj(
        {
            "trust": NUMBER_01,
            "attachment_style": {"type": "string", "enum": ["secure", "anxious", "avoidant", "fearful"]},
            "bond": NUMBER_01,
            "unhealthy_patterns": {"type": "array", "items": {"type": "string"}},
        }
    ),
    "PromptData": obj(
        {
            "system": JSON_OBJECT,
            "context": JSON_OBJECT,
            "instruction": JSON_OBJECT,
            "formatted": obj(
                {
                    "system_prompt": {"type": "string"},
                    "context_block": {"type": "string"},
                    "instruction_block": {"type": "string"},
                }
            ),
        }
    ),
    "ProactiveHint": obj(
        {
            "enabled": {"type": "boolean"},
            "next_check_at": {"type": ["string", "null"], "format": "date-time"},
            "pending_actions": {
                "type": "array",
                "items": obj({"id": {"type": "string"}, "type": {"type": "string"}, "priority": {"type": "string"}}),
            },
        }
    ),
    "TurnResult": obj(
        {
            "appraisal": ref("Appraisal"),
            "new_emotion": ref("VAD"),
            "emotion_intensity": NUMBER_01,
            "discrete_emotion": ref("DiscreteEmotion"),
            "stage_transition": {"type": "boolean"},
            "body_budget": NUMBER_01,
            "soul_stage": ref("SoulStage"),
            "need_state": ref("Needs"),
            "emotional_overflow": {"type": "boolean"},
            "relationship": ref("Relationship"),
            "proactive_hint": ref("ProactiveHint"),
            "prompt_data": ref("PromptData"),
        }
    ),
    "State": obj(
        {
            "emotion": ref("VAD"),
            "emotion_intensity": NUMBER_01,
            "discrete_emotion": ref("DiscreteEmotion"),
            "body_budget": NUMBER_01,
            "soul_stage": ref("SoulStage"),
            "need_state": ref("Needs"),
            "regulation": obj(
                {"active_strategy": {"type": ["string", "null"]}, "history": {"type": "array", "items": JSON_OBJECT}}
            ),
            "affect_dynamics": obj({"variability": {"type": "number"}, "instability": {"type": "number"}}),
            "relationship": ref("Relationship"),
            "prompt_data": ref("PromptData"),
        }
    ),
    "PersonaInput": {
        "type": "object",
        "description": "A preset, a custom persona, or both (custom fields win).",
        "properties": {
            "preset": {"type": ["string", "null"]},
            "identity": obj(
                {
                    "name": {"type": "string"},
                    "core_values": {"type": "array", "items": {"type": "string"}},
                    "speaking_style": {"type": "string"},
                    "role": {"type": "string"},
                    "language": {"type": "string"},
                },
                [],
            ),
            "personality": obj(
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
    "SessionCreated": obj(
        {"sessionId": SESSION_ID, "persona": JSON_OBJECT, "config": JSON_OBJECT, "createdAt": TIMESTAMP}
    ),
    "Session": obj(
        {
            "sessionId": SESSION_ID,
            "persona": JSON_OBJECT,
            "config": JSON_OBJECT,
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
            "turnCount": {"type": "integer", "minimum": 0},
            "lastTurnAt": {"type": ["string", "null"], "format": "date-time"},
            "proactive": ref("ProactivePreferences"),
        }
    ),
    "SessionList": obj(
        {
            "sessions": {
                "type": "array",
                "items": obj(
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
    "Preset": obj(
        {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "personality": obj({trait: NUMBER_01 for trait in ("O", "C", "E", "A", "N")}),
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
            "event": obj(
                {"description": {"type": "string", "minLength": 1}, "source": {"enum": ["user", "system", "internal"]}}
            ),
            "elapsedSeconds": {"type": "number", "minimum": 0, "maximum": MAX_ELAPSED_SECONDS},
            "event_context": {"type": "string", "maxLength": CONTEXT_MAX_CHARS},
        },
        "required": ["sessionId"],
        "oneOf": [{"required": ["message"]}, {"required": ["event"]}],
    },
    "AppraisalTurnInput": obj(
        {
            "sessionId": SESSION_ID,
            "userId": {"type": "string"},
            "appraisal": ref("Appraisal"),
            "context": {"type": "string", "maxLength": CONTEXT_MAX_CHARS},
            "elapsedSeconds": {"type": "number", "minimum": 0, "maximum": MAX_ELAPSED_SECONDS},
        },
        ["sessionId", "appraisal"],
    ),
    "ProactiveAction": obj(
        {
            "id": {"type": "string"},
            "type": {"enum": list(PROACTIVE_TRIGGERS)},
            "message": {"type": "string"},
            "priority": {"enum": ["low", "medium", "high"]},
            "metadata": JSON_OBJECT,
            "created_at": TIMESTAMP,
        }
    ),
    "ProactivePreferences": obj(
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
    "WebhookInput": obj(
        {
            "url": {"type": "string", "format": "uri"},
            "secret": {"type": "string", "minLength": 16, "maxLength": 512},
            "events": {"type": "array", "items": {"enum": list(EVENT_TYPES)}, "minItems": 1},
        }
    ),
    "Webhook": obj(
        {
            "id": {"type": "string"},
            "url": {"type": "string"},
            "events": {"type": "array", "items": {"enum": list(EVENT_TYPES)}},
            "created_at": TIMESTAMP,
        }
    ),
}


SESSION_PARAM = path_param("sessionId", SESSION_ID)


list_params = page_params()

PATHS: dict[str, Any] = {
    "/persona": {
        "post": operation("persona_create", "Create a session", ok(ref("SessionCreated"), "201"), ref("PersonaInput")),
        "get": operation("persona_list", "List sessions", ok(ref("SessionList")), params=list_params),
    },
    "/persona/{sessionId}": {
        "parameters": [SESSION_PARAM],
        "get": operation("persona_get", "Get a session", ok(ref("Session"))),
        "delete": operation(
            "persona_delete",
            "Delete a session and all its state",
            ok(obj({"deleted": {"const": True}, "id": SESSION_ID})),
        ),
    },
    "/persona/{sessionId}/stream-token": {
        "parameters": [SESSION_PARAM],
        "post": operation(
            "persona_stream_token_create",
            "Mint a short-lived token for opening this session's WebSocket from a browser (?token=)",
            ok(obj({"token": {"type": "string"}, "expiresAt": TIMESTAMP, "url": {"type": "string"}}), "201"),
        ),
    },
    "/presets": {"get": operation("preset_list", "The presets", ok({"type": "array", "items": ref("Preset")}))},
    "/turn": {"post": operation("turn", "Process a turn", ok(ref("TurnResult")), ref("TurnInput"))},
    "/turn/appraisal": {
        "post": operation(
            "turn_appraisal",
            "Process a supplied appraisal",
            ok(ref("TurnResult")),
            ref("AppraisalTurnInput"),
        )
    },
    "/state/{sessionId}": {
        "parameters": [SESSION_PARAM],
        "get": operation("state_get", "Full emotional state", ok(ref("State"))),
    },
    "/proactive/{sessionId}": {
        "parameters": [SESSION_PARAM],
        "get": operation(
            "proactive_list",
            "Pending proactive actions",
            ok({"type": "array", "items": ref("ProactiveAction")}),
        ),
    },
    "/proactive/{sessionId}/preferences": {
        "parameters": [SESSION_PARAM],
        "put": operation(
            "proactive_preferences_update",
            "Configure proactive behaviour",
            ok({**ref("ProactivePreferences"), "properties": {"sessionId": SESSION_ID}}),
            ref("ProactivePreferencesInput"),
        ),
    },
    "/webhook/{sessionId}": {
        "parameters": [SESSION_PARAM],
        "post": operation("webhook_create", "Register a webhook", ok(ref("Webhook"), "201"), ref("WebhookInput")),
        "get": operation("webhook_list", "The session's webhooks", ok({"type": "array", "items": ref("Webhook")})),
    },
}
