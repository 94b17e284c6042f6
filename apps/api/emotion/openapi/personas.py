"""The document's part for the persona API of molroo's SDK 0.7 (``/personas``): bodies ``{"result": ...}``, the
SDK's camelCase names, times in epoch milliseconds. The request schemas say what the serializers in
``persona_serializers`` accept; trait ranges and facets are the engine's to check (a 400 naming the field)."""

from typing import Any

from django.conf import settings

from apps.api.emotion.openapi.common import (
    EPOCH_MS,
    JSON_OBJECT,
    NUMBER_01,
    NUMBER_11,
    OVER_BUDGET,
    json_body,
    nullable,
    obj,
    ok,
    operation,
    page_params,
    path_param,
    ref,
)
from apps.api.emotion.persona_serializers import MAX_TICK_SECONDS, NAME_MAX, TEXT_MAX
from apps.api.emotion.serializers import CONTEXT_MAX_CHARS
from apps.api.shared.validation import IDEMPOTENCY_KEY_MAX_LENGTH


def result(schema: dict[str, Any]) -> dict[str, Any]:
    return obj({"result": schema})


def text(max_length: int, *, blank: bool = False) -> dict[str, Any]:
    """A JSON string of at most ``max_length`` characters; unless ``blank``, with a character that is not white
    space (DRF trims before it checks)."""
    schema: dict[str, Any] = {"type": "string", "maxLength": max_length}
    return schema if blank else {**schema, "pattern": r"\S"}


DELETED = obj({"deleted": {"const": True}, "id": {"type": "string"}})

SCHEMAS: dict[str, Any] = {
    "WireAppraisal": obj(
        {
            "goal_relevance": NUMBER_01,
            "goal_congruence": NUMBER_11,
            "expectedness": NUMBER_01,
            "controllability": NUMBER_01,
            "agency": NUMBER_11,
            "norm_compatibility": NUMBER_11,
            "internal_standards": nullable(NUMBER_11),
            "adjustment_potential": nullable(NUMBER_01),
            "urgency": nullable(NUMBER_01),
        },
        [
            "goal_relevance",
            "goal_congruence",
            "expectedness",
            "controllability",
            "agency",
            "norm_compatibility",
        ],
        additionalProperties=False,
        description="molroo's six dimensions drive the engine; the SDK's other three are range-checked and kept.",
    ),
    "PersonaConfig": obj(
        {
            "personality": obj(
                {trait: {"type": "number"} for trait in ("O", "C", "E", "A", "N", "H")},
                [],
                description="HEXACO traits 0..1 (and facets); the engine checks the ranges.",
            ),
            "identity": obj(
                {
                    "name": text(NAME_MAX, blank=True),
                    "role": text(NAME_MAX, blank=True),
                    "speakingStyle": text(TEXT_MAX, blank=True),
                    "coreValues": {"type": "array", "items": text(NAME_MAX), "maxItems": 32},
                    "culturalIdentity": text(NAME_MAX, blank=True),
                    "description": text(TEXT_MAX, blank=True),
                    "language": text(16),
                    "extensions": {"type": "object", "additionalProperties": text(TEXT_MAX, blank=True)},
                },
                [],
            ),
            "goals": {
                "type": "array",
                "maxItems": 32,
                "items": obj(
                    {
                        "id": text(NAME_MAX),
                        "content": text(TEXT_MAX),
                        "priority": {"type": "number"},
                        "mutable": {"type": "boolean"},
                        "status": {"enum": ["active", "achieved", "abandoned"]},
                    },
                    ["content"],
                ),
            },
        },
        [],
    ),
    "PersonaSummary": obj(
        {
            "id": {"type": "string"},
            "personaId": {"type": "string"},
            "tenantId": {"type": "string"},
            "config": JSON_OBJECT,
            "engineVersion": {"type": "string"},
            "createdAt": EPOCH_MS,
            "updatedAt": EPOCH_MS,
        }
    ),
    "PersonaState": obj(
        {
            "emotion": ref("VAD"),
            "velocity": obj({"V": {"type": "number"}, "A": {"type": "number"}, "D": {"type": "number"}}),
            "emotion_history": {"type": "array", "items": JSON_OBJECT},
            "body_budget": NUMBER_01,
            "soul_stage": ref("SoulStage"),
            "need_state": ref("Needs"),
            "affect_dynamics": obj({"variability": {"type": "number"}, "instability": {"type": "number"}}),
            "regulation": obj(
                {"active_strategy": {"type": ["string", "null"]}, "history": {"type": "array", "items": JSON_OBJECT}}
            ),
            "discrete_emotion": ref("DiscreteEmotion"),
            "emotion_intensity": NUMBER_01,
            "lastUpdated": EPOCH_MS,
        }
    ),
    "Episode": obj(
        {
            "id": {"type": "string"},
            "content": {"type": "string"},
            "type": {"type": "string"},
            "sourceEntity": {"type": ["string", "null"]},
            "appraisal": JSON_OBJECT,
            "intensity": NUMBER_01,
            "importance": NUMBER_01,
            "timestamp": {"type": "number"},
            "emotionSnapshot": ref("VAD"),
            "score": {"type": "number"},
        },
        ["id", "content", "importance", "timestamp", "emotionSnapshot"],
    ),
    "AgentResponse": obj(
        {
            "emotion": obj({"vad": ref("VAD"), "discrete": ref("DiscreteEmotion")}),
            "memoryEpisode": ref("Episode"),
            "appraisal": ref("Appraisal"),
            "appraisalSource": {"type": "string"},
            "bodyBudget": NUMBER_01,
            "emotionalOverflow": {"type": "boolean"},
            "socialUpdates": {
                "type": "array",
                "items": obj(
                    {"entityId": {"type": "string"}, "dimension": {"type": "string"}, "delta": {"type": "number"}}
                ),
            },
            "stageTransition": obj(
                {
                    "from": {"type": "string"},
                    "to": {"type": "string"},
                    "fromId": {"type": "integer"},
                    "toId": {"type": "integer"},
                }
            ),
            # Present only when the step caused them (docs/integrators/emotion-api.md).
            "recurrence": NUMBER_01,
            "goalChanges": obj(
                {
                    "achieved": {"type": "array", "items": {"type": "string"}},
                    "blocked": {"type": "array", "items": {"type": "string"}},
                    "priorityChanged": {
                        "type": "array",
                        "items": obj(
                            {"id": {"type": "string"}, "from": {"type": ["number", "null"]}, "to": {"type": "number"}}
                        ),
                    },
                },
                [],
            ),
            "maskExposure": obj(
                {
                    "type": {"enum": ["leak", "break"]},
                    "severity": NUMBER_01,
                    "integrity": NUMBER_01,
                    "previousIntegrity": nullable(NUMBER_01),
                    "felt": {"type": "string"},
                },
                ["type", "severity", "integrity"],
            ),
            "reflectionPrompt": obj({"system": {"type": "string"}, "user": {"type": "string"}}),
        },
        ["emotion", "memoryEpisode", "appraisal", "appraisalSource", "bodyBudget", "emotionalOverflow"],
    ),
    "PromptContext": obj(
        {
            "systemPrompt": {"type": "string"},
            "promptContext": {"type": "object", "additionalProperties": {"type": "string"}},
        }
    ),
    "PromptContextInput": obj(
        {"consumerSuffix": text(CONTEXT_MAX_CHARS, blank=True), "sourceEntity": text(256, blank=True)},
        [],
        type=["object", "null"],
        description="Optional: no body, null and {} are the same.",
    ),
    "TickInput": obj({"seconds": {"type": "number", "minimum": 0, "maximum": MAX_TICK_SECONDS}}),
}

PERSONA_ID = path_param("personaId", {"type": "string", "maxLength": 40})
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
}

PERCEIVE_INPUT = obj(
    {
        "event": obj(
            {
                "type": text(64),
                "timestamp": {"type": ["number", "null"], "minimum": 0},
                "sourceEntity": {"type": ["string", "null"], "maxLength": 256},
                "payload": obj({"message": text(settings.MESSAGE_MAX_CHARS, blank=True)}, []),
                "appraisal": nullable(ref("WireAppraisal")),
                # What the appraiser reads of the SDK's stimulus when no appraisal is given; other keys are ignored.
                "stimulus": nullable(
                    obj(
                        {
                            "description": {"type": "string", "maxLength": TEXT_MAX},
                            "text": {"type": "string", "maxLength": TEXT_MAX},
                            "intensity": nullable(NUMBER_01),
                        },
                        [],
                    )
                ),
            },
            ["payload"],
        ),
        "context": {
            "type": ["object", "null"],
            "properties": {
                # The SDK's recalled episodes: what recurrence reads (other keys are ignored).
                "priorEpisodes": {
                    "type": ["array", "null"],
                    "maxItems": 50,
                    "items": obj(
                        {
                            "sourceEntity": {"type": ["string", "null"], "maxLength": 256},
                            "appraisal": nullable(ref("WireAppraisal")),
                            "importance": nullable(NUMBER_01),
                            "timestamp": {"type": ["number", "null"], "minimum": 0},
                            "emotionSnapshot": nullable(obj({"V": NUMBER_11, "A": NUMBER_01, "D": NUMBER_11}, [])),
                        },
                        [],
                    ),
                },
                "relationshipContext": nullable(obj({"trust": NUMBER_01, "familiarity": NUMBER_01}, ["trust"])),
            },
        },
    },
    ["event"],
)

PATHS: dict[str, Any] = {
    "/personas": {
        "post": operation(
            "sdk_persona_create",
            "Create a persona",
            ok(result(ref("PersonaSummary")), "201"),
            obj({"config": ref("PersonaConfig")}),
            [IDEMPOTENCY_KEY],
        ),
        "get": operation(
            "sdk_persona_list",
            "List the app's personas",
            ok(
                result(
                    obj(
                        {
                            "personas": {"type": "array", "items": ref("PersonaSummary")},
                            "nextCursor": {"type": ["string", "null"]},
                        }
                    )
                )
            ),
            params=page_params(),
        ),
    },
    "/personas/{personaId}": {
        "parameters": [PERSONA_ID],
        "get": operation("sdk_persona_get", "Get a persona", ok(result(ref("PersonaSummary")))),
        "patch": operation(
            "sdk_persona_update",
            "Change a persona's configuration",
            ok(result(ref("PersonaSummary"))),
            ref("PersonaConfig"),
            body_required=False,  # an empty PATCH changes nothing
        ),
        "delete": operation("sdk_persona_delete", "Delete a persona (restorable for a while)", ok(result(DELETED))),
    },
    "/personas/{personaId}/restore": {
        "parameters": [PERSONA_ID],
        "post": operation("sdk_persona_restore", "Restore a deleted persona", ok(result(ref("PersonaSummary")))),
    },
    "/personas/{personaId}/perceive": {
        "parameters": [PERSONA_ID],
        "post": {
            **operation(
                "sdk_persona_perceive",
                "The persona perceives an event",
                ok(result(ref("AgentResponse"))),
                PERCEIVE_INPUT,
            ),
        },
    },
    "/personas/{personaId}/tick": {
        "parameters": [PERSONA_ID],
        "post": operation(
            "sdk_persona_tick",
            "Let time pass",
            ok(result(obj({"pendingEvents": {"type": "array", "items": JSON_OBJECT}, "state": ref("PersonaState")}))),
            ref("TickInput"),
        ),
    },
    "/personas/{personaId}/emotion": {
        "parameters": [PERSONA_ID],
        "post": operation(
            "sdk_persona_emotion_set",
            "Set the emotion (any of V, A, D)",
            ok(result(obj({"emotion": ref("VAD")}))),
            obj({"vad": obj({"V": NUMBER_11, "A": NUMBER_01, "D": NUMBER_11}, [])}),
        ),
    },
    "/personas/{personaId}/state": {
        "parameters": [PERSONA_ID],
        "get": operation("sdk_persona_state", "The persona's state", ok(result(ref("PersonaState")))),
    },
    "/personas/{personaId}/snapshot": {
        "parameters": [PERSONA_ID],
        "get": operation(
            "sdk_persona_snapshot",
            "Everything that changes as the persona lives, to put back later",
            ok(
                result(
                    obj(
                        {
                            "version": {"type": "integer"},
                            "state": JSON_OBJECT,
                            "relationship": JSON_OBJECT,
                            "relationships": {"type": "object", "additionalProperties": JSON_OBJECT},
                            "emotion_history": {"type": "array", "items": JSON_OBJECT},
                        }
                    )
                )
            ),
        ),
        "put": operation(
            "sdk_persona_snapshot_restore",
            "Put a snapshot back",
            ok(result(obj({"restored": {"const": True}}))),
            obj({"snapshot": JSON_OBJECT}),
        ),
    },
    "/personas/{personaId}/prompt-context": {
        "parameters": [PERSONA_ID],
        "post": operation(
            "sdk_persona_prompt_context",
            "The system prompt for the persona now",
            ok(result(ref("PromptContext"))),
            ref("PromptContextInput"),
            body_required=False,
        ),
    },
    "/personas/{personaId}/memory/search": {
        "parameters": [PERSONA_ID],
        "post": operation(
            "sdk_persona_memory_search",
            "Search the persona's episodes",
            ok(result(obj({"episodes": {"type": "array", "items": ref("Episode")}}))),
            obj(
                {
                    "query": text(TEXT_MAX),
                    "topK": {"type": "integer", "minimum": 1, "maximum": 50},
                    "minImportance": NUMBER_01,
                },
                ["query"],
            ),
        ),
    },
}
PATHS["/personas/{personaId}/perceive"]["post"]["responses"].update(OVER_BUDGET)
PATHS["/personas"]["post"]["responses"]["422"] = {
    "description": "IDEMPOTENCY_KEY_REUSED: the Idempotency-Key came with a different body before",
    **json_body(ref("Error")),
}
