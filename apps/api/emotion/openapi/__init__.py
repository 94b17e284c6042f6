"""OpenAPI 3.1 for ``/emotion/v1``, written out (the bodies are molroo's, not DRF serializers'), in three parts:
molroo's REST v1 sessions, and the persona and world APIs of molroo's SDK 0.7.

Served at ``GET /emotion/v1/openapi.json``. ``tests/test_openapi.py`` of this surface validates real responses
against it, ``tests/test_schema_fuzz_emotion.py`` fuzzes every operation from it, and a test compares its paths
with the routes Django serves under the mount, so the document cannot drift from the server.
"""

from typing import Any

from apps.api.emotion.openapi import personas, sessions, worlds
from apps.api.emotion.openapi.common import ERROR_SCHEMAS


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Dramatis emotion API (molroo-compatible)",
            "version": "1.0.0",
            "description": "molroo's REST v1 and SDK 0.7 routes under /emotion/v1 (docs/integrators/emotion-api.md).",
        },
        "servers": [{"url": "/emotion/v1"}],
        # molroo's SDK 0.7 sends its key as X-API-Key; either header works.
        "security": [{"ApiKey": []}, {"ApiKeyHeader": []}],
        "components": {
            "securitySchemes": {
                "ApiKey": {"type": "http", "scheme": "bearer"},
                "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
            "schemas": {**ERROR_SCHEMAS, **sessions.SCHEMAS, **personas.SCHEMAS, **worlds.SCHEMAS},
        },
        "paths": {**sessions.PATHS, **personas.PATHS, **worlds.PATHS},
    }
