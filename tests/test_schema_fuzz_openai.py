"""Property-based fuzzing of the OpenAI-compatible surface (``/openai/v1``) from its own OpenAPI schema.

Schemathesis generates requests for every operation from ``GET /openai/v1/openapi.json`` and sends them to the
in-process WSGI app inside the test's transaction, with a key of an app that has a published character ``luna``,
so that most generated model names are real ones (``character:luna``, the catalog's ``scripted`` and
``builtin``). No request may cause a 5xx; every response must be documented (status, content type, body schema)
and every error in OpenAI's shape; every request the schema calls invalid must be refused. Streams
(``stream: true``) end with the reply, so they are fuzzed too (their frames are checked by the stream tests).
``FUZZ_EXAMPLES`` raises the number of examples per operation (``make fuzz``).
"""

import os
import zlib

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.parameters import ParameterLocation

from apps.characters.tests.factories import character_publish
from config.wsgi import application

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    negative_data_rejection,
]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
MODELS = ("character:luna", "scripted")

schema = schemathesis.openapi.from_wsgi("/openai/v1/openapi.json", application)
schema.config.generation.update(allow_x00=False)  # U+0000 is refused everywhere (PostgreSQL cannot store it)
_rejection = schema.config.checks.negative_data_rejection
_rejection.expected_statuses = [*_rejection.expected_statuses, "413"]  # an oversized invalid body is refused unread


@pytest.fixture
def tenant(owner, db):
    """The key's app with a published character ``luna``."""
    character_publish(owner.api_key.app, slug="luna", greeting="Hi, I'm Luna.")
    return {"key": owner.raw_key}


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: a request must not close the connection that holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_keeps_its_documented_contract(case, tenant, django_capture_on_commit_callbacks):
    _aim_at_real_models(case)
    with django_capture_on_commit_callbacks(execute=True):
        response = case.call_and_validate(headers={"Authorization": f"Bearer {tenant['key']}"}, checks=CHECKS)
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}, error
        assert isinstance(error["message"], str) and error["message"], error


def _aim_at_real_models(case) -> None:
    """Name a real model in most schema-valid cases (made-up names only ever find 404s): a character or the
    catalog's chat model for completions, the catalog's image model or none for images."""
    chosen = zlib.crc32(repr((case.path_parameters, case.body)).encode()) % 4
    if case.path_parameters and chosen and not case.meta.is_negative_at(ParameterLocation.PATH):
        case.path_parameters = {"model": ("character:luna", "scripted", "builtin")[chosen - 1]}
    if not isinstance(case.body, dict) or not chosen or case.meta.is_negative_at(ParameterLocation.BODY):
        return
    if case.path.endswith("/chat/completions") and "model" in case.body:
        case.body = {**case.body, "model": MODELS[chosen % 2]}
    elif case.path.endswith("/images/generations") and case.body.get("model") is not None:
        case.body = {**case.body, "model": "builtin"}
