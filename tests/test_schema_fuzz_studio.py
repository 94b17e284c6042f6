"""Schemathesis against /studio/api/v1's own OpenAPI document: every operation keeps its documented contract (no
5xx, responses in their schema, documented statuses and media types, invalid requests refused with 400), and
errors come in the seed's shape ``{"error": "..."}``. Streams (``stream: true``) are covered in
apps/api/studio/tests/test_streams.py."""

import zlib

import pytest
import schemathesis
from rest_framework.test import APIClient
from schemathesis.core.parameters import ParameterLocation

from config.wsgi import application
from tests import fuzzing

schema = schemathesis.openapi.from_wsgi("/studio/api/v1/openapi.json", application)
schema.config.generation.update(allow_x00=False)
_rejection = schema.config.checks.negative_data_rejection
_rejection.expected_statuses = ["400", "401", "404", "413"]

AGENT = {"name": "Technical Advisor", "personality_prompt": "Helpful", "sd_model_id": "builtin"}


def studio_scene(client: APIClient) -> dict[str, str]:
    """An agent, a conversation with it and one exchange, through the studio API: the real path values."""
    agent = client.post("/studio/api/v1/agents", AGENT, format="json")
    assert agent.status_code == 201, agent.content[:300]
    conversation = client.post(
        "/studio/api/v1/conversations", {"agent_id": agent.json()["id"], "title": "Advice"}, format="json"
    )
    assert conversation.status_code == 201, conversation.content[:300]
    conversation_id = conversation.json()["id"]
    sent = client.post(f"/studio/api/v1/conversations/{conversation_id}/messages", {"content": "hi"}, format="json")
    assert sent.status_code == 201, sent.content[:300]
    return {"agent_id": agent.json()["id"], "conversation_id": conversation_id}


@pytest.fixture
def scene(owner, db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {owner.raw_key}")
    return {"key": owner.raw_key, "path": studio_scene(client)}


@schema.parametrize()
@fuzzing.fuzz_settings(10)
def test_every_operation_keeps_its_documented_contract(case, scene, django_capture_on_commit_callbacks):
    _aim_at_real_resources(case, scene)
    with fuzzing.connection_kept(), django_capture_on_commit_callbacks(execute=True):
        response = case.call_and_validate(headers={"Authorization": f"Bearer {scene['key']}"}, checks=fuzzing.CHECKS)
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"], body


def _aim_at_real_resources(case, scene) -> None:
    """Point most schema-valid cases at the scene's real ids, and keep bodies off streaming (an SSE response is
    checked by the stream tests, not against the JSON schema)."""
    chosen = zlib.crc32(repr((case.path_parameters, case.body)).encode()) % 4 != 0  # stable, unlike hash()
    if case.path_parameters and chosen and not case.meta.is_negative_at(ParameterLocation.PATH):
        case.path_parameters = {name: scene["path"][name] for name in case.path_parameters}
    negative_body = case.meta.is_negative_at(ParameterLocation.BODY)
    if isinstance(case.body, dict) and case.body.get("stream") is True and not negative_body:
        case.body = {**case.body, "stream": False}
