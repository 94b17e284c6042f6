"""The guard on a chat completion's cost: exact SQL statement counts over HTTP, with the API key and the
catalog in their caches as production has them (transaction control included, real transactions)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/openai/v1/chat/completions"
# The character with its version; then the call's settlement: BEGIN, the usage row (no budget applies, so it
# is written settled in one INSERT), COMMIT.
STATELESS = 4
PLAIN = 3  # a catalog model: the settlement only
# The end-user's session id (one query, the character joined by slug); the message's transaction (BEGIN, the
# cursor taken by an UPDATE ... RETURNING, the run, the user's event, COMMIT); the run claimed and read; the
# turn's one write transaction (BEGIN, the run, the emotion state, the usage row, the cursor, the events,
# COMMIT). ``session_latest_or_create`` took 18: a transaction around reading the character, then the session.
STATEFUL = 15


@pytest.fixture(autouse=True)
def _production_shape(settings):
    settings.API_KEY_CACHE_SECONDS = 5


def _statements(api, body) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = api.post(URL, body, format="json")
    assert response.status_code == 200, response.content
    return [query["sql"] for query in captured.captured_queries]


def _show(statements: list[str]) -> str:
    return "\n".join(f"{index + 1:>3}  {sql[:200]}" for index, sql in enumerate(statements))


def _warm(api, body):
    for _ in range(2):
        _statements(api, body)


def test_a_stateless_character_completion(api, luna):
    body = {"model": "character:luna", "messages": [{"role": "user", "content": "hi"}]}
    _warm(api, body)
    statements = _statements(api, body)
    assert len(statements) == STATELESS, _show(statements)


def test_a_catalog_model_completion(api):
    body = {"model": "scripted", "messages": [{"role": "user", "content": "hi"}]}
    _warm(api, body)
    statements = _statements(api, body)
    assert len(statements) == PLAIN, _show(statements)


def test_a_turn_of_a_users_session(api, luna):
    body = {"model": "character:luna", "user": "ada", "messages": [{"role": "user", "content": "hi"}]}
    _warm(api, body)
    statements = _statements(api, body)
    assert len(statements) == STATEFUL, _show(statements)
