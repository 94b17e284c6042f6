"""A PostgreSQL or Redis outage is a 503 in each surface's own shape, never a 500, and the process recovers by
itself once the server is back (docs/operators.md, "Failure behaviour"). The outages are real refused
connections (tests/outages.py); the chaos suite (tests/chaos/test_outages.py) breaks real servers under load.
"""

import pytest
from django.test import Client

from apps.conversations.models import Event, Run
from apps.delivery.models import WebhookEndpoint
from tests.outages import POSTGRES_ONLY, postgres_connections_killed, postgres_down, redis_down

pytestmark = pytest.mark.django_db(transaction=True)


def _native(body):
    return set(body["detail"]) == {"code", "message", "fix"} and body["detail"]["code"] == "service_unavailable"


def _emotion(body):
    return body["error"]["code"] == "SERVICE_UNAVAILABLE" and body["error"]["status"] == 503


def _studio(body):
    return set(body) == {"error"} and isinstance(body["error"], str)


def _npc(body):
    return body["error"]["code"] == "service_unavailable"


def _openai(body):
    return body["error"]["code"] == "service_unavailable" and body["error"]["type"] == "server_error"


# (what, method, path, body, the surface's 503 shape). The key is checked first on every one of them, so the
# authentication path meets the outage before anything else.
REQUESTS = [
    ("native read", "get", "/v1/characters", None, _native),
    ("native message", "post", "/v1/sessions/{session}/messages", {"text": "are you there?"}, _native),
    ("native event stream", "get", "/v1/sessions/{session}/events/stream", None, _native),
    ("emotion", "get", "/emotion/v1/persona", None, _emotion),
    ("studio", "get", "/studio/api/v1/conversations", None, _studio),
    ("npc", "get", "/npc/api/v1/sdk/personas", None, _npc),
    ("openai", "get", "/openai/v1/models", None, _openai),
]


@pytest.fixture
def client(owner) -> Client:
    # Answers as a server would: an exception Django turns into an error page is not raised into the test.
    return Client(
        raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {owner.raw_key}", HTTP_X_API_KEY=owner.raw_key
    )


@pytest.fixture
def session_id(client) -> str:
    assert (
        client.post("/v1/characters", {"slug": "luna", "display_name": "Luna"}, "application/json").status_code == 201
    )
    made = client.post("/v1/sessions", {"character": "luna", "external_user_ref": "u1"}, "application/json")
    assert made.status_code == 201
    return made.json()["data"]["session_id"]


def _send(client: Client, method: str, path: str, body, session_id: str):
    path = path.format(session=session_id)
    if method == "post":
        return client.post(path, body, "application/json")
    return client.get(path, HTTP_ACCEPT="application/json" if "stream" not in path else "text/event-stream")


@POSTGRES_ONLY
def test_every_surface_answers_503_in_its_own_shape_while_postgres_is_down_and_recovers_after(client, session_id):
    events_before = Event.objects.count()

    with postgres_down():
        answers = {what: _send(client, method, path, body, session_id) for what, method, path, body, _ in REQUESTS}

    for what, _, _, _, shape in REQUESTS:
        answer = answers[what]
        assert answer.status_code == 503, (what, answer.status_code, answer.content)
        assert answer["Retry-After"] == "2", what
        assert shape(answer.json()), (what, answer.json())
    # nothing was written, and the next requests reach the database again (no restart of the process)
    assert Event.objects.count() == events_before
    for what, method, path, body, _ in REQUESTS:
        if "stream" not in path:
            assert _send(client, method, path, body, session_id).status_code in (200, 202), what


@POSTGRES_ONLY
def test_connections_the_server_ended_while_pooled_fail_no_request(client, session_id):
    # given a restart of PostgreSQL ended every connection this process keeps in its pool
    assert postgres_connections_killed() >= 1

    # when the next requests come, the pool's health check replaces each dead connection before handing it out
    read = client.get("/v1/characters")
    sent = client.post(f"/v1/sessions/{session_id}/messages", {"text": "still there?"}, "application/json")

    # then none of them fails on a dead connection
    assert (read.status_code, sent.status_code) == (200, 202), (read.content, sent.content)


def test_a_message_is_accepted_and_answered_while_redis_is_down(client, session_id):
    # given Redis (the cache, which also holds the catalog and budget lookups) refuses every connection
    with redis_down():
        # when a message comes and its turn runs (inline here, as a worker would)
        sent = client.post(f"/v1/sessions/{session_id}/messages", {"text": "hello?"}, "application/json")
        models = client.get("/openai/v1/models")

    # then the cached reads fell back to the database: the turn was accepted and answered once
    assert sent.status_code == 202, sent.content
    assert models.status_code == 200, models.content
    run = Run.objects.get(pk=sent.json()["data"]["run_ref"])
    assert run.status == "succeeded"
    assert Event.objects.filter(run_id=run.id, event_type="message.created", role="character").count() == 1


def test_a_write_that_cannot_invalidate_its_cache_answers_503_and_writes_nothing(client, settings):
    # given a change that must invalidate cached routes (a webhook endpoint) while Redis is down
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    body = {"url": "http://127.0.0.1:9/hook", "secret": "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}
    with redis_down():
        made = client.post("/v1/webhook-endpoints", body, "application/json")

    # then it is refused as an outage (its old value could outlive Redis's return otherwise) and nothing is kept
    assert made.status_code == 503, made.content
    assert _native(made.json())
    assert not WebhookEndpoint.objects.exists()
