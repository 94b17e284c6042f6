"""Schemathesis against /emotion/v1's own OpenAPI document (molroo's REST v1 and SDK 0.7 routes): every operation
keeps its documented contract (no 5xx, responses in their schema, documented statuses and media types, invalid
requests refused with 400 VALIDATION_ERROR), and errors come in molroo's shape. The WebSocket is not in the
document; its tests are in apps/api/emotion/tests/test_socket.py and tests/test_tenant_isolation_emotion.py."""

import itertools
import zlib

import pytest
import schemathesis
from rest_framework.test import APIClient
from schemathesis.core.parameters import ParameterLocation

from apps.api.emotion.tests.scene import scene_build
from config.wsgi import application
from tests import fuzzing

_sequence = itertools.count()
schema = schemathesis.openapi.from_wsgi("/emotion/v1/openapi.json", application)
# U+0000 is refused in every text (PostgreSQL cannot store it in text or jsonb).
schema.config.generation.update(allow_x00=False)
_rejection = schema.config.checks.negative_data_rejection
_rejection.expected_statuses = ["400", "401", "404", "413"]


@pytest.fixture
def scene(owner, db, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {owner.raw_key}")
    built = scene_build(client)
    return {"key": owner.raw_key, "path": built.path_values}


def _error_shape(response) -> None:
    error = response.json()["error"]
    assert {"code", "status", "message"} <= set(error), error
    assert error["status"] == response.status_code and error["code"].isupper() and error["message"], error


@schema.parametrize()
@fuzzing.fuzz_settings(10)
def test_every_operation_keeps_its_documented_contract(case, scene, django_capture_on_commit_callbacks):
    _aim_at_real_resources(case, scene)
    with fuzzing.connection_kept(), django_capture_on_commit_callbacks(execute=True):
        response = case.call_and_validate(headers={"Authorization": f"Bearer {scene['key']}"}, checks=fuzzing.CHECKS)
    if response.status_code >= 400:
        _error_shape(response)


def _aim_at_real_resources(case, scene) -> None:
    """Point most schema-valid cases at the scene's real ids (random ids would only ever find 404s)."""
    chosen = zlib.crc32(repr((case.path_parameters, case.body)).encode()) % 4 != 0  # stable, unlike hash()
    if case.path_parameters and chosen and not case.meta.is_negative_at(ParameterLocation.PATH):
        case.path_parameters = {name: scene["path"][name] for name in case.path_parameters}
    key = (case.headers or {}).get("Idempotency-Key")
    if key and not case.meta.is_negative_at(ParameterLocation.HEADER):
        # Reusing a key for a different body is a (documented) 422; generated keys repeat, so make them unique.
        case.headers = {**case.headers, "Idempotency-Key": f"{next(_sequence)}-{key}"[:255]}
