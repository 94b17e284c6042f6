"""Property-based fuzzing of the NPC surface (``/npc/api/v1``, Foil Engine-compatible) from its own OpenAPI schema.

Schemathesis generates requests for every operation from ``GET /npc/api/v1/openapi.json`` and sends them to the
in-process WSGI app inside the test's transaction, with a key of an app that has a saved NPC (two published
machines) and a player in it, so that most generated ids name real resources. No request may cause a 5xx; every
response must be documented (status, content type, body schema) and every error in Foil's shape; every request
the schema calls invalid must be refused. The message stream is left to the stream and isolation tests (its
frames are not JSON). ``FUZZ_EXAMPLES`` raises the number of examples per operation (``make fuzz``).

``creator/save`` takes a whole scenario: schemathesis's coverage phase derives some 600 cases from its body (each
field's bounds, formats and wrong types), more time than every other operation together. The suite's run fuzzes it
with the others' number of examples and leaves that phase to ``make fuzz`` (``tests.fuzzing.full_run``).
"""

import zlib

import pytest
import schemathesis
from schemathesis.config import OperationConfig
from schemathesis.core.parameters import ParameterLocation

from apps.conversations import services as conversations_services
from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import services as npcs_services
from config.wsgi import application
from tests import fuzzing

PLAYER = "player-1"

schema = schemathesis.openapi.from_wsgi("/npc/api/v1/openapi.json", application).exclude(path_regex=r"/message/stream$")
schema.config.generation.update(allow_x00=False)  # U+0000 is refused everywhere (PostgreSQL cannot store it)
if not fuzzing.full_run():
    schema.config.operations.operations.append(
        OperationConfig.from_dict({"include-path": "/creator/save", "phases": {"coverage": {"enabled": False}}})
    )
_rejection = schema.config.checks.negative_data_rejection
_rejection.expected_statuses = [*_rejection.expected_statuses, "413"]  # an oversized invalid body is refused unread


@pytest.fixture
def tenant(owner, db, byok_llm):
    """The key's app with an NPC whose player ``player-1`` stands in its first machine; a caller's own model
    key (X-LLM-*) reaches the fake OpenAI-compatible server."""
    app = owner.api_key.app
    npc = npcs_services.npc_save(app=app, body=scenario_body())
    opened = conversations_services.npc_session_start(
        app=app, npc_id=npc.id, player_session_id=PLAYER, player_name="Ada", player_gender="female"
    )
    return {"key": owner.raw_key, "persona_id": npc.id, "machine_id": opened.playthrough.machine_id}


@schema.parametrize()
@fuzzing.fuzz_settings(12)
def test_every_operation_keeps_its_documented_contract(case, tenant, django_capture_on_commit_callbacks):
    _aim_at_real_resources(case, tenant)
    # A case that is invalid for lack of the key header goes without it (and must be refused); any other gets the
    # real key in place of the generated one.
    keyless = case.meta.is_negative_at(ParameterLocation.HEADER) and "X-API-Key" not in (case.headers or {})
    headers = {} if keyless else {"X-API-Key": tenant["key"]}
    with fuzzing.connection_kept(), django_capture_on_commit_callbacks(execute=True):
        response = case.call_and_validate(headers=headers, checks=fuzzing.CHECKS)
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["code"], str) and error["code"], error
        assert isinstance(error["message"], str) and error["message"], error


def _aim_at_real_resources(case, tenant) -> None:
    """Point most schema-valid cases at the real persona, player and machine (random ids only ever find 404s);
    the rest, and every case whose ids are the invalid part, keep what was generated."""
    chosen = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode()) % 4 != 0  # stable
    if case.path_parameters and chosen and not case.meta.is_negative_at(ParameterLocation.PATH):
        case.path_parameters = {**case.path_parameters, "persona_id": tenant["persona_id"]}
    query = case.query or {}
    if chosen and not case.meta.is_negative_at(ParameterLocation.QUERY):
        if "user_session_id" in query:
            query = {**query, "user_session_id": PLAYER}
        if "machine_id" in query:
            query = {**query, "machine_id": tenant["machine_id"]}
        if "persona_id" in query:
            query = {**query, "persona_id": tenant["persona_id"]}
        case.query = query
    negative_body = case.meta.is_negative_at(ParameterLocation.BODY)
    if isinstance(case.body, dict) and "user_session_id" in case.body and chosen and not negative_body:
        case.body = {**case.body, "user_session_id": PLAYER}
