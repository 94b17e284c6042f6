"""The document's part for the world API of molroo's SDK 0.7 (``/worlds``): several personas in one scene.
Bodies ``{"result": ...}`` with the SDK's snake_case names; times in epoch milliseconds."""

from typing import Any

from apps.api.emotion.openapi.common import (
    EPOCH_MS,
    JSON_OBJECT,
    NUMBER_01,
    nullable,
    obj,
    ok,
    operation,
    page_params,
    path_param,
    ref,
)
from apps.api.emotion.openapi.personas import DELETED, result, text
from apps.api.emotion.persona_serializers import NAME_MAX, TEXT_MAX
from apps.api.emotion.world_serializers import ACCESS_POLICIES, ENTITY_TYPES, RESPONSE_RULES


def optional_text(max_length: int) -> dict[str, Any]:
    return {"type": ["string", "null"], "maxLength": max_length}


WORLD_FIELDS = {
    "name": text(NAME_MAX),
    "description": optional_text(TEXT_MAX),
    "access_policy": {"enum": [*ACCESS_POLICIES, None]},
    "response_rule": {"enum": [*RESPONSE_RULES, None]},
}
WORLD_EMOTION = obj(
    {
        "vad": ref("VAD"),
        "label": {"type": "string"},
        "secondary_label": {"type": ["string", "null"]},
        "intensity": NUMBER_01,
    }
)

SCHEMAS: dict[str, Any] = {
    "World": obj(
        {
            "id": {"type": "string"},
            "tenant_id": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": ["string", "null"]},
            "access_policy": {"enum": list(ACCESS_POLICIES)},
            "response_rule": {"enum": list(RESPONSE_RULES)},
            "created_at": EPOCH_MS,
            "updated_at": EPOCH_MS,
        }
    ),
    "WorldInput": obj(WORLD_FIELDS, ["name"]),
    "WorldUpdateInput": obj(WORLD_FIELDS, []),
    "WorldMember": obj(
        {
            "id": {"type": "string"},
            "persona_id": {"type": "string"},
            "persona_config_id": {"type": "string"},
            "display_name": {"type": "string"},
            "created_at": EPOCH_MS,
        }
    ),
    "WorldMemberDetail": {
        "allOf": [
            ref("WorldMember"),
            obj({"config": JSON_OBJECT, "state": obj({"emotion": WORLD_EMOTION, "somatic": {"type": "array"}})}),
        ]
    },
    "WorldMemberInput": {
        **obj(
            {
                "persona_id": optional_text(40),
                "persona_config_id": optional_text(NAME_MAX),
                "display_name": optional_text(NAME_MAX),
                "config": nullable(ref("PersonaConfig")),
            },
            [],
        ),
        "description": "An existing persona ('persona_id') or an inline 'config' to create one.",
    },
    "WorldAction": obj(
        {
            "id": {"type": ["string", "null"], "description": "null for the default actions"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "appraisal_vector": JSON_OBJECT,
            "is_default": {"type": "boolean"},
        }
    ),
    "WorldRelationship": obj(
        {
            "id": {"type": "string"},
            "source_type": {"enum": list(ENTITY_TYPES)},
            "source_id": {"type": "string"},
            "target_type": {"enum": list(ENTITY_TYPES)},
            "target_id": {"type": "string"},
            "relationship_type": {"type": ["string", "null"]},
            "description": {"type": ["string", "null"]},
            "strength": {"type": ["number", "null"]},
            "trust": {"type": ["number", "null"]},
            "updated_at": EPOCH_MS,
        }
    ),
    "WorldEvent": obj(
        {"id": {"type": "string"}, "type": {"type": "string"}, "data": JSON_OBJECT, "created_at": EPOCH_MS}
    ),
    "InteractResult": obj(
        {
            "action": {"type": "string"},
            "target": {"type": "string"},
            "emotion": {
                "allOf": [
                    WORLD_EMOTION,
                    obj({"delta": obj({"V": {"type": "number"}, "A": {"type": "number"}, "D": {"type": "number"}})}),
                ]
            },
            "somatic": {"type": "array"},
            "stage_transition": {"type": "boolean"},
            "reactions": {"type": "array", "items": obj({"persona": {"type": "string"}, "emotion": WORLD_EMOTION})},
            "relationship": nullable(ref("WorldRelationship")),
            "event_id": {"type": "string"},
        }
    ),
}

WORLD_ID = path_param("worldId")
MEMBER_REF = path_param("memberRef")
NEXT_CURSOR = {"type": ["string", "null"]}
PROMPT_CONTEXT_INPUT = obj(
    {"sourceEntity": text(256, blank=True), "consumerSuffix": text(TEXT_MAX, blank=True)}, [], type=["object", "null"]
)

PATHS: dict[str, Any] = {
    "/worlds": {
        "post": operation("world_create", "Create a world", ok(result(ref("World")), "201"), ref("WorldInput")),
        "get": operation(
            "world_list",
            "List the app's worlds",
            ok(result(obj({"worlds": {"type": "array", "items": ref("World")}, "nextCursor": NEXT_CURSOR}))),
            params=page_params(),
        ),
    },
    "/worlds/{worldId}": {
        "parameters": [WORLD_ID],
        "get": operation("world_get", "Get a world", ok(result(ref("World")))),
        "patch": operation(
            "world_update", "Change a world", ok(result(ref("World"))), ref("WorldUpdateInput"), body_required=False
        ),
        "delete": operation("world_delete", "Delete a world", ok(result(DELETED))),
    },
    "/worlds/{worldId}/personas": {
        "parameters": [WORLD_ID],
        "post": operation(
            "world_member_add",
            "Add a persona to the world",
            ok(result(ref("WorldMember")), "201"),
            ref("WorldMemberInput"),
        ),
        "get": operation(
            "world_member_list",
            "The world's personas",
            ok(result(obj({"personas": {"type": "array", "items": ref("WorldMemberDetail")}}))),
        ),
    },
    "/worlds/{worldId}/personas/{memberRef}": {
        "parameters": [WORLD_ID, MEMBER_REF],
        "get": operation("world_member_get", "A persona of the world", ok(result(ref("WorldMemberDetail")))),
        "delete": operation(
            "world_member_remove",
            "Take a persona out of the world",
            ok(result(obj({"removed": {"const": True}, "id": {"type": "string"}}))),
        ),
    },
    "/worlds/{worldId}/personas/{memberRef}/prompt-context": {
        "parameters": [WORLD_ID, MEMBER_REF],
        "post": operation(
            "world_member_prompt_context",
            "The member's system prompt, with the scene",
            ok(result(ref("PromptContext"))),
            PROMPT_CONTEXT_INPUT,
            body_required=False,
        ),
    },
    "/worlds/{worldId}/personas/{memberRef}/tick": {
        "parameters": [WORLD_ID, MEMBER_REF],
        "post": operation(
            "world_member_tick",
            "Let time pass for a member",
            ok(result(obj({"pendingEvents": {"type": "array", "items": JSON_OBJECT}}))),
            ref("TickInput"),
        ),
    },
    "/worlds/{worldId}/actions": {
        "parameters": [WORLD_ID],
        "post": operation(
            "world_action_create",
            "Add a custom action",
            ok(result(obj({"id": {"type": "string"}, "name": {"type": "string"}})), "201"),
            obj(
                {
                    "name": text(64),
                    "description": optional_text(TEXT_MAX),
                    "appraisal_vector": ref("WireAppraisal"),
                },
                ["name", "appraisal_vector"],
            ),
        ),
        "get": operation(
            "world_action_list",
            "The world's actions (defaults and custom)",
            ok(result(obj({"actions": {"type": "array", "items": ref("WorldAction")}}))),
        ),
    },
    "/worlds/{worldId}/actions/{actionRef}": {
        "parameters": [WORLD_ID, path_param("actionRef")],
        "delete": operation("world_action_delete", "Delete a custom action", ok(result(DELETED))),
    },
    "/worlds/{worldId}/relationships": {
        "parameters": [WORLD_ID],
        "put": operation(
            "world_relationship_set",
            "Create or change the relationship between two entities",
            ok(result(ref("WorldRelationship"))),
            obj(
                {
                    "source_type": {"enum": list(ENTITY_TYPES)},
                    "source_id": text(256),
                    "target_type": {"enum": list(ENTITY_TYPES)},
                    "target_id": text(256),
                    "relationship_type": optional_text(64),
                    "description": optional_text(TEXT_MAX),
                    "strength": nullable(NUMBER_01),
                    "trust": nullable(NUMBER_01),
                },
                ["source_type", "source_id", "target_type", "target_id"],
            ),
        ),
        "get": operation(
            "world_relationship_list",
            "The world's relationships",
            ok(result(obj({"relationships": {"type": "array", "items": ref("WorldRelationship")}}))),
        ),
    },
    "/worlds/{worldId}/relationships/{relationshipId}": {
        "parameters": [WORLD_ID, path_param("relationshipId")],
        "delete": operation("world_relationship_delete", "Delete a relationship", ok(result(DELETED))),
    },
    "/worlds/{worldId}/interact": {
        "parameters": [WORLD_ID],
        "post": operation(
            "world_interact",
            "Someone acts on a member; the others witness it",
            ok(result(ref("InteractResult"))),
            obj(
                {
                    "target_persona_id": text(40),
                    "action_name": optional_text(64),
                    "action_label": optional_text(NAME_MAX),
                    "stimulus_description": optional_text(TEXT_MAX),
                    "appraisal_vector": nullable(ref("WireAppraisal")),
                    "actor_id": optional_text(256),
                    "actor_type": {"enum": [*ENTITY_TYPES, None]},
                },
                ["target_persona_id"],
            ),
        ),
    },
    "/worlds/{worldId}/events": {
        "parameters": [WORLD_ID],
        "get": operation(
            "world_event_list",
            "The world's events, oldest first",
            ok(result(obj({"events": {"type": "array", "items": ref("WorldEvent")}, "nextCursor": NEXT_CURSOR}))),
            params=page_params(),
        ),
    },
}
