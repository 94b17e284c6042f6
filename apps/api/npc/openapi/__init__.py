"""OpenAPI 3.1 for ``/npc/api/v1``, written out: the bodies are Foil Engine's (``foilengine.types``), not DRF
serializers'. The request fields and limits come from this surface's serializers and the scenario body from the
domain's declared shape (``npcs.types.NPC_SCENARIO``), so they cannot drift from what the server checks.

Served at ``GET /npc/api/v1/openapi.json``. ``tests/test_openapi.py`` of this surface checks that every route
of ``urls.py`` is documented and validates real responses against the document; ``tests/test_schema_fuzz_npc.py``
fuzzes the server from it.
"""

from typing import Any

from apps.api.npc.openapi.components import (
    EVENT_STREAM,
    ID,
    LLM_HEADERS,
    MACHINE_ID,
    PERSONA_ERRORS,
    PERSONA_ID,
    PLAY_ERRORS,
    TURN_ERRORS,
    USER_SESSION_ID,
    component_schemas,
    error,
    ok,
    operation,
    param,
    sdk_only,
)
from apps.api.npc.serializers import PersonaListQuery
from apps.api.shared.openapi import ShapeSchemas, json_content, obj, ref


def _chat_paths(prefix: str, tag: str) -> dict[str, Any]:
    """The player's routes with one persona, under ``prefix`` (the SDK's or the player routes')."""
    base = f"{prefix}/chat/{{persona_id}}"
    turn_params = [
        param("machine_id", "query", MACHINE_ID["schema"], description=MACHINE_ID["description"]),
        *LLM_HEADERS,
    ]
    return {
        f"{base}/init-session": {
            "parameters": [PERSONA_ID],
            "post": operation(
                f"{tag}_init_session",
                "Start (or start over) a player's session; the reply is the NPC's opening line",
                ok(ref("SessionInit")),
                body="InitSessionInput",
                params=[MACHINE_ID],
                errors=PLAY_ERRORS | {"402": TURN_ERRORS["402"]},
            ),
        },
        f"{base}/message": {
            "parameters": [PERSONA_ID],
            "post": operation(
                f"{tag}_message",
                "Send the player's message; the NPC evaluates it, moves, and answers",
                ok(ref("ChatResponse")),
                body="MessageInput",
                params=turn_params,
                errors=TURN_ERRORS,
            ),
        },
        f"{base}/message/stream": {
            "parameters": [PERSONA_ID],
            "post": {
                **operation(
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
            "get": operation(
                f"{tag}_session",
                "The player's session: where they stand",
                ok(ref("SessionStatus")),
                params=[USER_SESSION_ID, MACHINE_ID],
                errors=PERSONA_ERRORS,
            ),
        },
        f"{base}/history": {
            "parameters": [PERSONA_ID],
            "get": operation(
                f"{tag}_history",
                "The player's session with its messages",
                ok(ref("ChatHistory")),
                params=[USER_SESSION_ID, MACHINE_ID],
                errors=PERSONA_ERRORS,
            ),
        },
        f"{base}/reset": {
            "parameters": [PERSONA_ID],
            "post": operation(
                f"{tag}_reset",
                "Start the player's session over",
                ok(ref("ResetResult")),
                params=[USER_SESSION_ID, MACHINE_ID],
                errors=PLAY_ERRORS,
            ),
        },
        f"{base}/machines": {
            "parameters": [PERSONA_ID],
            "get": operation(
                f"{tag}_machines",
                "The persona's machines as this player sees them",
                ok({"type": "array", "items": ref("MachineInfo")}),
                params=[USER_SESSION_ID],
                errors=PERSONA_ERRORS,
            ),
        },
    }


def _management_paths() -> dict[str, Any]:
    limit = PersonaListQuery().fields["limit"]
    list_params = [
        param("public_only", "query", {"type": "boolean", "default": False}, description="Only public personas"),
        param("my_personas", "query", {"type": "boolean", "default": False}, description="Only the app's own"),
        param(
            "limit",
            "query",
            {"type": "integer", "minimum": limit.min_value, "maximum": limit.max_value, "default": limit.default},
        ),
    ]
    changed_elsewhere = {"403": error("Another app's public persona: it can be read, not changed")}
    return {
        "/personas": {
            "get": operation(
                "personas_list",
                "The app's personas and the public ones, newest first",
                ok({"type": "array", "items": ref("PersonaDetail")}),
                params=list_params,
            )
        },
        "/personas/{persona_id}": {
            "parameters": [PERSONA_ID],
            "get": operation("persona_get", "One persona", ok(ref("PersonaDetail")), errors=PERSONA_ERRORS),
            "delete": operation(
                "persona_delete",
                "Delete a persona with its machines and playthroughs (cannot be undone)",
                ok(obj({"persona_id": ID, "deleted": {"const": True}})),
                errors=PERSONA_ERRORS | changed_elsewhere,
            ),
        },
        "/personas/{persona_id}/full": {
            "parameters": [PERSONA_ID],
            "get": operation(
                "persona_full",
                "The persona with its machines, states, transitions, variables and links (ids added)",
                ok(ref("NpcScenario")),
                errors=PERSONA_ERRORS,
            ),
        },
        "/creator/save": {
            "post": operation(
                "creator_save",
                "Create a persona and its scenarios, or replace them (?persona_id=); ids in the body are ignored",
                {
                    **ok(ref("SavedScenario"), "201", "Created"),
                    **ok(ref("SavedScenario"), "200", "Replaced (?persona_id=)"),
                },
                body="NpcScenario",
                params=[param("persona_id", "query", ID, description="The persona to replace")],
                errors=PERSONA_ERRORS
                | changed_elsewhere
                | {"422": error("A scenario that breaks the graph rules (each problem named by its path)")},
            )
        },
    }


def openapi_document() -> dict[str, Any]:
    shapes = ShapeSchemas()
    schemas = component_schemas(shapes)
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
            **sdk_only(_sdk_paths()),
            **_chat_paths("", "player"),
            **_management_paths(),
        },
    }


def _sdk_paths() -> dict[str, Any]:
    return {
        "/sdk/personas": {
            "get": operation(
                "sdk_personas", "The app's published personas", ok({"type": "array", "items": ref("Persona")})
            )
        },
        **_chat_paths("/sdk", "sdk"),
        "/sdk/validate-llm-key": {
            "post": {
                **operation(
                    "sdk_validate_llm_key",
                    "Does the provider take the key in X-LLM-API-Key? One minimal call; nothing written",
                    ok(ref("LlmKeyCheck")),
                    params=LLM_HEADERS,
                    errors={"503": error("The provider could not be reached: nothing is known about the key")},
                ),
                "requestBody": {"required": False, **json_content(ref("ValidateLlmKeyInput"))},
            }
        },
    }
