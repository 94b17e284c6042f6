"""OpenAPI 3.1 for ``/npc/api/v1``, written out: the bodies are Foil Engine's (``foilengine.types``), not DRF
serializers'. The request fields and limits come from this surface's serializers and the scenario body from the
domain's declared shape (``npcs.types.NPC_SCENARIO``), so they cannot drift from what the server checks.

Served at ``GET /npc/api/v1/openapi.json``. ``tests/test_openapi.py`` of this surface checks that every route
of ``urls.py`` is documented and validates real responses against the document; ``tests/test_schema_fuzz_npc.py``
fuzzes the server from it.
"""

from typing import Any

from apps.api.npc import byok
from apps.api.npc.serializers import InitSessionInput, MessageInput, PersonaListQuery, PlayerQuery
from apps.api.shared.openapi import ShapeSchemas, json_content, obj, ref, text_schema
from apps.npcs.types import NPC_SCENARIO

TIMESTAMP = {"type": "string", "format": "date-time"}
ID = {"type": "string", "maxLength": 40}
STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}


def _max(serializer, name: str) -> int:
    return serializer().fields[name].max_length


def _error_schema() -> dict[str, Any]:
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


def _schemas(shapes: ShapeSchemas) -> dict[str, Any]:
    shapes.of(NPC_SCENARIO)
    body = shapes.components[NPC_SCENARIO.name]
    return {
        "Error": _error_schema(),
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
                "user_session_id": text_schema(max_length=_max(InitSessionInput, "user_session_id")),
                "player_name": text_schema(max_length=_max(InitSessionInput, "player_name")),
                "player_gender": text_schema(max_length=_max(InitSessionInput, "player_gender")),
            }
        ),
        "MessageInput": obj(
            {
                # Taken as sent (not trimmed): a message of spaces is a message.
                "message": {"type": "string", "minLength": 1, "maxLength": _max(MessageInput, "message")},
                "user_session_id": text_schema(max_length=_max(MessageInput, "user_session_id")),
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


def _error(description: str) -> dict[str, Any]:
    return {"description": description, **json_content(ref("Error"))}


ERRORS = {
    "400": _error("Bad input (a missing or invalid field or query parameter)"),
    "401": _error("A missing, unknown, revoked or expired key"),
    "429": _error("Over the plan's requests per minute (Retry-After)"),
}
PERSONA_ERRORS = {"404": _error("No such persona, or another app's private one")}
PLAY_ERRORS = {
    **PERSONA_ERRORS,
    "403": _error("A machine that is not published or not unlocked"),
}
TURN_ERRORS = {
    **PLAY_ERRORS,
    "402": _error("No room in the app's balance or a hard budget; nothing written"),
    "409": _error("Another message moved the player first"),
    "502": _error("The platform's model failed (llm_error)"),
    "503": _error("The model could not be reached (llm_unavailable)"),
}


def _sse_event(name: str, schema: dict[str, Any]) -> dict[str, Any]:
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
                _sse_event("metadata", ref("ChatStreamMetadata")),
                _sse_event("text_delta", obj({"text": STRING})),
                _sse_event("done", ref("ChatResponse")),
                _sse_event("error", obj({"error": STRING, "code": STRING})),
            ],
        }
    }
}


def _param(name: str, where: str, schema: dict[str, Any], required: bool = False, description: str = "") -> dict:
    param = {"name": name, "in": where, "required": required, "schema": schema}
    return {**param, "description": description} if description else param


PERSONA_ID = _param("persona_id", "path", ID, required=True)
MACHINE_ID = _param(
    "machine_id",
    "query",
    {"type": "string", "maxLength": 40},
    description="A machine of the persona (default: the entry machine)",
)
USER_SESSION_ID = _param(
    "user_session_id",
    "query",
    {"type": "string", "minLength": 1, "maxLength": _max(PlayerQuery, "user_session_id")},
    required=True,
)
LLM_HEADERS = [
    _param(name, "header", {"type": "string", "maxLength": byok.VALUE_MAX_CHARS, "pattern": r"^[\x21-\x7e]*$"})
    for name in byok.HEADERS
]


def _operation(
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


def _ok(schema: dict[str, Any], status: str = "200", description: str = "OK") -> dict[str, Any]:
    return {status: {"description": description, **json_content(schema)}}


def _sdk_only(paths: dict[str, Any]) -> dict[str, Any]:
    """``paths`` whose operations take the key in ``X-API-Key`` only (the SDK routes)."""
    for item in paths.values():
        for method in ("get", "post", "delete"):
            if method in item:
                item[method]["security"] = [{"XApiKey": []}]
    return paths


def _chat_paths(prefix: str, tag: str) -> dict[str, Any]:
    """The player's routes with one persona, under ``prefix`` (the SDK's or the player routes')."""
    base = f"{prefix}/chat/{{persona_id}}"
    turn_params = [
        _param("machine_id", "query", MACHINE_ID["schema"], description=MACHINE_ID["description"]),
        *LLM_HEADERS,
    ]
    return {
        f"{base}/init-session": {
            "parameters": [PERSONA_ID],
            "post": _operation(
                f"{tag}_init_session",
                "Start (or start over) a player's session; the reply is the NPC's opening line",
                _ok(ref("SessionInit")),
                body="InitSessionInput",
                params=[MACHINE_ID],
                errors=PLAY_ERRORS | {"402": TURN_ERRORS["402"]},
            ),
        },
        f"{base}/message": {
            "parameters": [PERSONA_ID],
            "post": _operation(
                f"{tag}_message",
                "Send the player's message; the NPC evaluates it, moves, and answers",
                _ok(ref("ChatResponse")),
                body="MessageInput",
                params=turn_params,
                errors=TURN_ERRORS,
            ),
        },
        f"{base}/message/stream": {
            "parameters": [PERSONA_ID],
            "post": {
                **_operation(
                    f"{tag}_message_stream",
                    "The same turn, answered as Server-Sent Events",
                    {"200": {"description": "An event stream", "content": EVENT_STREAM}},
                    body="MessageInput",
                    params=turn_params,
                    errors=TURN_ERRORS,
                ),
            },
        },
        f"{base}/session": {
            "parameters": [PERSONA_ID],
            "get": _operation(
                f"{tag}_session",
                "The player's session: where they stand",
                _ok(ref("SessionStatus")),
                params=[USER_SESSION_ID, MACHINE_ID],
                errors=PERSONA_ERRORS,
            ),
        },
        f"{base}/history": {
            "parameters": [PERSONA_ID],
            "get": _operation(
                f"{tag}_history",
                "The player's session with its messages",
                _ok(ref("ChatHistory")),
                params=[USER_SESSION_ID, MACHINE_ID],
                errors=PERSONA_ERRORS,
            ),
        },
        f"{base}/reset": {
            "parameters": [PERSONA_ID],
            "post": _operation(
                f"{tag}_reset",
                "Start the player's session over",
                _ok(ref("ResetResult")),
                params=[USER_SESSION_ID, MACHINE_ID],
                errors=PLAY_ERRORS,
            ),
        },
        f"{base}/machines": {
            "parameters": [PERSONA_ID],
            "get": _operation(
                f"{tag}_machines",
                "The persona's machines as this player sees them",
                _ok({"type": "array", "items": ref("MachineInfo")}),
                params=[USER_SESSION_ID],
                errors=PERSONA_ERRORS,
            ),
        },
    }


def _management_paths() -> dict[str, Any]:
    limit = PersonaListQuery().fields["limit"]
    list_params = [
        _param("public_only", "query", {"type": "boolean", "default": False}, description="Only public personas"),
        _param("my_personas", "query", {"type": "boolean", "default": False}, description="Only the app's own"),
        _param(
            "limit",
            "query",
            {"type": "integer", "minimum": limit.min_value, "maximum": limit.max_value, "default": limit.default},
        ),
    ]
    changed_elsewhere = {"403": _error("Another app's public persona: it can be read, not changed")}
    return {
        "/personas": {
            "get": _operation(
                "personas_list",
                "The app's personas and the public ones, newest first",
                _ok({"type": "array", "items": ref("PersonaDetail")}),
                params=list_params,
            )
        },
        "/personas/{persona_id}": {
            "parameters": [PERSONA_ID],
            "get": _operation("persona_get", "One persona", _ok(ref("PersonaDetail")), errors=PERSONA_ERRORS),
            "delete": _operation(
                "persona_delete",
                "Delete a persona with its machines and playthroughs (cannot be undone)",
                _ok(obj({"persona_id": ID, "deleted": {"const": True}})),
                errors=PERSONA_ERRORS | changed_elsewhere,
            ),
        },
        "/personas/{persona_id}/full": {
            "parameters": [PERSONA_ID],
            "get": _operation(
                "persona_full",
                "The persona with its machines, states, transitions, variables and links (ids added)",
                _ok(ref("NpcScenario")),
                errors=PERSONA_ERRORS,
            ),
        },
        "/creator/save": {
            "post": _operation(
                "creator_save",
                "Create a persona and its scenarios, or replace them (?persona_id=); ids in the body are ignored",
                {
                    **_ok(ref("SavedScenario"), "201", "Created"),
                    **_ok(ref("SavedScenario"), "200", "Replaced (?persona_id=)"),
                },
                body="NpcScenario",
                params=[_param("persona_id", "query", ID, description="The persona to replace")],
                errors=PERSONA_ERRORS
                | changed_elsewhere
                | {"422": _error("A scenario that breaks the graph rules (each problem named by its path)")},
            )
        },
    }


def openapi_document() -> dict[str, Any]:
    shapes = ShapeSchemas()
    schemas = _schemas(shapes)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Dramatis NPC API (Foil Engine-compatible)",
            "version": "1.0.0",
            "description": "Foil Engine's SDK and player routes under /npc/api/v1; see docs/integrators/npc-api.md.",
        },
        "servers": [{"url": "/npc/api/v1"}],
        "security": [{"XApiKey": []}, {"Bearer": []}],
        "components": {
            "securitySchemes": {
                "XApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "Bearer": {"type": "http", "scheme": "bearer"},
            },
            "schemas": schemas,
        },
        "paths": {
            **_sdk_only(_sdk_paths()),
            **_chat_paths("", "player"),
            **_management_paths(),
        },
    }


def _sdk_paths() -> dict[str, Any]:
    return {
        "/sdk/personas": {
            "get": _operation(
                "sdk_personas", "The app's published personas", _ok({"type": "array", "items": ref("Persona")})
            )
        },
        **_chat_paths("/sdk", "sdk"),
        "/sdk/validate-llm-key": {
            "post": {
                **_operation(
                    "sdk_validate_llm_key",
                    "Does the provider take the key in X-LLM-API-Key? One minimal call; nothing written",
                    _ok(ref("LlmKeyCheck")),
                    params=LLM_HEADERS,
                    errors={"503": _error("The provider could not be reached: nothing is known about the key")},
                ),
                "requestBody": {"required": False, **json_content(ref("ValidateLlmKeyInput"))},
            }
        },
    }
