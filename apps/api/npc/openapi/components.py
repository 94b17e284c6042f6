"""The NPC document's parts: schemas, errors, parameters and the operation builder."""

from typing import Any

from apps.api.npc import byok
from apps.api.npc.serializers import InitSessionInput, MessageInput, PlayerQuery
from apps.api.shared.openapi import ShapeSchemas, json_content, obj, ref, text_schema
from apps.npcs.types import NPC_SCENARIO

TIMESTAMP = {"type": "string", "format": "date-time"}
ID = {"type": "string", "maxLength": 40}
STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}


def max(serializer, name: str) -> int:
    return serializer().fields[name].max_length


def error_schema() -> dict[str, Any]:
    fields = {"type": "object", "additionalProperties": {"type": "array", "items": STRING}}
    error = obj(
        {
            "code": {"type": "string", "examples": ["npc_not_found", "validation_error", "invalid_api_key"]},
            "message": STRING,
            "fields": fields,
        },
        ["code", "message"],
    )
    return obj({"error": error})


STEP_FIELDS = {
    "current_state": STRING,
    "score": {"type": "integer"},
    "outcome": {"type": ["string", "null"], "enum": ["ACCEPT", "REJECT", "KICK_OUT", None]},
    "decision": {"type": ["string", "null"], "enum": ["pass", "redirect", "reject", "kick_out", None]},
    "follow_up": {"type": "boolean"},
    "session_id": ID,
    "scoring_mode": {"type": "string", "enum": ["scoring", "pass_fail"]},
    "redirect_count": {"type": ["integer", "null"], "minimum": 0},
    "machine_completed": {"type": "boolean"},
    "unlocked_machines": {"type": "array", "items": ref("UnlockedMachine")},
}
STATUS_FIELDS = {
    "session_id": ID,
    "persona_id": ID,
    "current_state": STRING,
    "score": {"type": "integer"},
    "outcome": STEP_FIELDS["outcome"],
    "player_name": NULLABLE_STRING,
    "player_gender": NULLABLE_STRING,
    "started_at": TIMESTAMP,
    "last_message_at": TIMESTAMP,
}
PERSONA = {
    "id": ID,
    "name": STRING,
    "description": NULLABLE_STRING,
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
}


def component_schemas(shapes: ShapeSchemas) -> dict[str, Any]:
    shapes.of(NPC_SCENARIO)
    body = shapes.components[NPC_SCENARIO.name]
    return {
        "Error": error_schema(),
        "Persona": obj(PERSONA),
        "PersonaDetail": obj(
            {**PERSONA, "identity_prompt": STRING, "is_public": {"type": "boolean"}},
            description="A persona as persona management shows it: the SDK's fields, identity prompt and visibility.",
        ),
        "SessionInit": obj(
            {
                "session_id": ID,
                "user_session_id": STRING,
                "persona_name": STRING,
                "persona_description": NULLABLE_STRING,
                "player_name": STRING,
                "player_gender": STRING,
                "message": {"type": "string", "description": "The NPC's opening line."},
                "machine_id": ID,
            }
        ),
        "UnlockedMachine": obj(
            {"machine_id": ID, "machine_key": STRING, "name": STRING, "is_auto_advance": {"type": "boolean"}}
        ),
        "ChatResponse": obj({"message": STRING, **STEP_FIELDS}),
        "ChatStreamMetadata": obj(STEP_FIELDS, description="The stream's first event: every field but the message."),
        "Message": obj(
            {
                "id": STRING,
                "role": {"type": "string", "enum": ["user", "assistant"]},
                "content": STRING,
                "state_key_at_time": NULLABLE_STRING,
                "score_at_time": {"type": ["integer", "null"]},
                "decision": STEP_FIELDS["decision"],
                "follow_up_triggered": {"type": "boolean"},
                "created_at": TIMESTAMP,
            }
        ),
        "ChatHistory": obj({**STATUS_FIELDS, "messages": {"type": "array", "items": ref("Message")}}),
        "SessionStatus": obj({**STATUS_FIELDS, "machine_id": ID}),
        "ResetResult": obj({"session_id": ID, "message": STRING}),
        "MachineInfo": obj(
            {
                "machine_id": ID,
                "machine_key": STRING,
                "name": STRING,
                "description": NULLABLE_STRING,
                "has_session": {"type": "boolean"},
                "session_outcome": STEP_FIELDS["outcome"],
                "is_linked": {"type": "boolean"},
            }
        ),
        "InitSessionInput": obj(
            {
                "user_session_id": text_schema(max_length=max(InitSessionInput, "user_session_id")),
                "player_name": text_schema(max_length=max(InitSessionInput, "player_name")),
                "player_gender": text_schema(max_length=max(InitSessionInput, "player_gender")),
            }
        ),
        "MessageInput": obj(
            {
                # Taken as sent (not trimmed): a message of spaces is a message.
                "message": {"type": "string", "minLength": 1, "maxLength": max(MessageInput, "message")},
                "user_session_id": text_schema(max_length=max(MessageInput, "user_session_id")),
            }
        ),
        "ValidateLlmKeyInput": obj(
            {"model": {"type": "string", "maxLength": byok.VALUE_MAX_CHARS, "pattern": r"^[\x21-\x7e]*$"}}, []
        ),
        "LlmKeyCheck": obj(
            {"valid": {"type": "boolean"}, "model": STRING, "error": STRING},
            ["valid", "model"],
            description="valid: the provider answered; not valid: it refused the key or model (error: its reason).",
        ),
        "SavedScenario": obj(
            {"persona_id": ID, **body["properties"]},
            ["persona_id", *body["properties"]],
            additionalProperties=False,
            description="The saved NPC: its id and its /full body.",
        ),
        **shapes.components,
    }


def error(description: str) -> dict[str, Any]:
    return {"description": description, **json_content(ref("Error"))}


ERRORS = {
    "400": error("Bad input (a missing or invalid field or query parameter)"),
    "401": error("A missing, unknown, revoked or expired key"),
    "429": error("Over the plan's requests per minute (Retry-After)"),
}
PERSONA_ERRORS = {"404": error("No such persona, or another app's private one")}
PLAY_ERRORS = {
    **PERSONA_ERRORS,
    "403": error("A machine that is not published or not unlocked"),
}
TURN_ERRORS = {
    **PLAY_ERRORS,
    "402": error("No room in the app's balance or a hard budget; nothing written"),
    "409": error("Another message moved the player first"),
    "502": error("The platform's model failed (llm_error)"),
    "503": error("The model could not be reached (llm_unavailable)"),
}


def sse_event(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    data = {"type": "string", "contentMediaType": "application/json", "contentSchema": schema}
    return obj({"event": {"const": name}, "data": data})


EVENT_STREAM = {
    "text/event-stream": {
        "schema": {
            "description": (
                "`metadata` first (the step the turn applies), one `text_delta` per chunk of the reply, then `done` "
                "(the whole response); or `error` when the reply fails after the start (nothing of the turn saved)."
            ),
            "oneOf": [
                sse_event("metadata", ref("ChatStreamMetadata")),
                sse_event("text_delta", obj({"text": STRING})),
                sse_event("done", ref("ChatResponse")),
                sse_event("error", obj({"error": STRING, "code": STRING})),
            ],
        }
    }
}


def param(name: str, where: str, schema: dict[str, Any], required: bool = False, description: str = "") -> dict:
    param = {"name": name, "in": where, "required": required, "schema": schema}
    return {**param, "description": description} if description else param


PERSONA_ID = param("persona_id", "path", ID, required=True)
MACHINE_ID = param(
    "machine_id",
    "query",
    {"type": "string", "maxLength": 40},
    description="A machine of the persona (default: the entry machine)",
)
USER_SESSION_ID = param(
    "user_session_id",
    "query",
    {"type": "string", "minLength": 1, "maxLength": max(PlayerQuery, "user_session_id")},
    required=True,
)
LLM_HEADERS = [
    param(name, "header", {"type": "string", "maxLength": byok.VALUE_MAX_CHARS, "pattern": r"^[\x21-\x7e]*$"})
    for name in byok.HEADERS
]


def operation(
    operation_id: str,
    summary: str,
    responses: dict[str, Any],
    *,
    body: str | None = None,
    params: list | None = None,
    errors: dict | None = None,
) -> dict[str, Any]:
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


def ok(schema: dict[str, Any], status: str = "200", description: str = "OK") -> dict[str, Any]:
    return {status: {"description": description, **json_content(schema)}}


def sdk_only(paths: dict[str, Any]) -> dict[str, Any]:
    """``paths`` whose operations take the key in ``X-API-Key`` only (the SDK routes)."""
    for item in paths.values():
        for method in ("get", "post", "delete"):
            if method in item:
                item[method]["security"] = [{"XApiKey": []}]
    return paths
