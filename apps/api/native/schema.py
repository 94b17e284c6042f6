"""OpenAPI for ``/v1``: only native paths, bearer auth, the SSE stream (a plain Django view), and the exact JSON
types of the free-form content fields, so that the schema accepts exactly what the server accepts."""

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)


def _json_object() -> dict:
    return {"type": "object", "additionalProperties": {}}


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.shared.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <API key>"}


class StaffPlaygroundScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.shared.authentication.StaffPlaygroundAuthentication"
    name = "AdminSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "Admin login (browsable API)"}


class ShapeSerializerSchema(OpenApiSerializerExtension):
    """A record that refuses unknown keys says so (lorebooks and their entries); the classes with an extension of
    their own below say it too."""

    target_class = "apps.api.native.shape_serializers.ShapeSerializer"
    match_subclasses = True
    priority = -1

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False} if self.target.other_keys == "refuse" else schema


class CharacterInputSchema(OpenApiSerializerExtension):
    """Character content refuses unknown top-level fields (so typos do not vanish); say so."""

    target_class = "apps.api.native.serializers.CharacterInput"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}


class CharacterPatchInputSchema(OpenApiSerializerExtension):
    """A character patch refuses unknown top-level fields like the full body."""

    target_class = "apps.api.native.serializers.CharacterPatchInput"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}


class ProactiveControlsInputSchema(OpenApiSerializerExtension):
    """The controls update refuses unknown fields too."""

    target_class = "apps.api.native.proactive_serializers.ProactiveControlsInput"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}


class JsonFieldSchema(OpenApiSerializerFieldExtension):
    """Any JSON value; without ``allow_null`` DRF refuses null, which an untyped schema (``{}``) would allow."""

    target_class = "rest_framework.fields.JSONField"

    def map_serializer_field(self, auto_schema, direction):
        if self.target.allow_null:
            return {}
        scalars = [{"type": name} for name in ("string", "number", "boolean")]
        return {"anyOf": [_json_object(), {"type": "array", "items": {}}, *scalars]}


class AnyObjectFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "apps.api.native.shape_serializers.AnyObjectField"

    def map_serializer_field(self, auto_schema, direction):
        return _json_object()


class ObjectOrTextFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "apps.api.native.shape_serializers.ObjectOrTextField"

    def map_serializer_field(self, auto_schema, direction):
        return {"oneOf": [_json_object(), {"type": "string"}]}


def only_native_paths(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: keep the ``/v1`` endpoints."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/v1/")]


def add_event_stream(result, generator, request, public):
    """drf-spectacular postprocessing hook: document the SSE endpoint next to the polling one."""
    result["paths"]["/v1/sessions/{session_id}/events/stream"] = {
        "get": {
            "operationId": "event_stream",
            "summary": "Stream the session's events as Server-Sent Events",
            "description": (
                "Each frame is `id: <cursor>` and `data: <event JSON>` (the same event objects as "
                "GET /events). Resumes after the `Last-Event-ID` header or `?since=`. Sends a comment "
                "heartbeat every 15 s and closes after 5 minutes; reconnect with the last cursor."
            ),
            "tags": ["sessions"],
            "security": [{"ApiKey": []}],
            "parameters": [
                {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "since", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}},
                {"name": "Last-Event-ID", "in": "header", "required": False, "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "An event stream",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                "401": {
                    "description": "Missing key",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
                "404": {
                    "description": "Unknown session",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        }
    }
    return result


def add_signed_files(result, generator, request, public):
    """drf-spectacular postprocessing hook: document the signed file URLs (a plain Django view, no API key)."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    result["paths"]["/v1/files/{token}"] = {
        "get": {
            "operationId": "signed_file_get",
            "summary": "A stored picture behind a signed, expiring URL",
            "description": (
                "The `file_url` and `thumbnail_url` of visual assets (and generated images) point here. The token "
                "is the permission: no API key, so an <img> tag or a chat client can load it. It expires "
                "(FILE_URL_TTL_SECONDS, one hour by default): read the resource again for a fresh URL."
            ),
            "tags": ["files"],
            "security": [],
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {
                    "description": "The file",
                    "content": {
                        media: {"schema": {"type": "string", "format": "binary"}}
                        for media in ("image/png", "image/jpeg", "image/webp")
                    },
                },
                "403": {"description": "A forged, altered or expired token", "content": error},
                "404": {"description": "The file is no longer stored", "content": error},
                "405": {"description": "Only GET (and HEAD)", "content": error},
            },
        }
    }
    return result
