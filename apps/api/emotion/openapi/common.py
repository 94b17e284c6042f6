"""The building blocks of the emotion surface's OpenAPI document: schema shorthands and the error responses."""

from typing import Any


def obj(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """An object schema; every property is required unless ``required`` says otherwise."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        **extra,
    }


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def ok(schema: dict[str, Any], status: str = "200", description: str = "OK") -> dict[str, Any]:
    return {status: {"description": description, **json_body(schema)}}


NUMBER_01 = {"type": "number", "minimum": 0, "maximum": 1}
NUMBER_11 = {"type": "number", "minimum": -1, "maximum": 1}
TIMESTAMP = {"type": "string", "format": "date-time"}
EPOCH_MS = {"type": "integer", "description": "Milliseconds since the Unix epoch."}
SESSION_ID = {"type": "string", "maxLength": 40}
JSON_OBJECT = {"type": "object"}

ERROR_SCHEMAS: dict[str, Any] = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": {
                        "type": "string",
                        "examples": ["UNAUTHORIZED", "VALIDATION_ERROR", "INVALID_PRESET", "NOT_FOUND", "RATE_LIMIT"],
                    },
                    "status": {"type": "integer"},
                    "message": {"type": "string"},
                    "details": obj(
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
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, **json_body(ref("Error"))}


ERRORS = {
    "400": _error("VALIDATION_ERROR or INVALID_PRESET"),
    "401": _error("UNAUTHORIZED"),
    "404": _error("NOT_FOUND"),
    "429": _error("RATE_LIMIT"),
}
# Only a request with a body can be too big: refused unread, before authentication.
TOO_LARGE = {"413": _error("PAYLOAD_TOO_LARGE: the body is over the request size limit")}
OVER_BUDGET = {"402": _error("BUDGET_EXCEEDED: a hard budget has no room for the model call")}


def operation(
    operation_id: str,
    summary: str,
    responses: dict,
    body: dict | None = None,
    params: list | None = None,
    *,
    body_required: bool = True,
) -> dict[str, Any]:
    """An operation that answers molroo's errors (and 413 when it takes a body)."""
    answers = {**responses, **ERRORS, **(TOO_LARGE if body is not None else {})}
    described: dict[str, Any] = {"operationId": operation_id, "summary": summary, "responses": answers}
    if body is not None:
        described["requestBody"] = {"required": body_required, **json_body(body)}
    if params:
        described["parameters"] = params
    return described


def path_param(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}


def page_params(limit_max: int = 100) -> list[dict[str, Any]]:
    return [
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 200}},
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": limit_max},
        },
    ]
