"""Statement counts of the studio's request paths, pinned (in the test's transaction, so each transaction of a
service shows as a SAVEPOINT and its RELEASE). The API key comes from its cache; the catalog from the shared
cache. Lists cost the same for one row or many."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

BASE = "/studio/api/v1/"
READS = {
    "models?type=llm": 0,  # the catalog and the rate card come from the shared cache
    "models?type=sd": 0,
    "conversations": 1,  # the sessions with their characters and the newest message's time, one statement
    "conversation": 1,
    "messages": 1,  # the transcript, with the ownership check as a subquery
    "agents": 2,  # the characters with their versions; their identity assets
    "agent": 2,
    "images": 2,  # the count and the page
}
WRITES = {
    # the agent's character; then (one transaction) its published check, the session, the cursors, the events;
    # then the conversation read back with its last message's time
    "conversation create": 13,  # the memory upsert: the end-user's memory with the agent
    # message_turn: accept (cursors, run, events), claim, the run and its history, the outcome transaction
    "message": 15,
    "completion": 3,  # the reservation (a savepoint and its insert), the settlement
    "completion with agent": 5,  # and the agent by id, then its published version
    "image": 11,
    "image in conversation": 13,  # and the session read, the image.ready event's cursor and insert
}


@pytest.fixture(autouse=True)
def _key_cache(settings):
    settings.API_KEY_CACHE_SECONDS = 5


def _count(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code < 300, response.content
    return len(captured.captured_queries)


def _post(api, path: str, body: dict):
    return lambda: api.post(BASE + path, body, format="json")


def _reads(api, conversation: str, agent: str) -> dict[str, int]:
    paths = {
        "models?type=llm": "models?type=llm",
        "models?type=sd": "models?type=sd",
        "conversations": "conversations",
        "conversation": f"conversations/{conversation}",
        "messages": f"conversations/{conversation}/messages",
        "agents": "agents",
        "agent": f"agents/{agent}",
        "images": "images",
    }
    return {name: _count(lambda path=path: api.get(BASE + path)) for name, path in paths.items()}


def _scene(api, name: str) -> tuple[str, str]:
    agent = api.post(BASE + "agents", {"name": name, "sd_model_id": "builtin"}, format="json").json()["id"]
    body = {"agent_id": agent, "messages": [{"role": "user", "content": "Hi"}, {"role": "agent", "content": "Hey"}]}
    conversation = api.post(BASE + "conversations", body, format="json").json()["id"]
    api.post(BASE + f"conversations/{conversation}/messages", {"content": "Hello"}, format="json")
    api.post(BASE + "images", {"prompt": "A beach", "sd_model_id": "builtin"}, format="json")
    api.post(
        BASE + "images", {"prompt": "A cat", "sd_model_id": "builtin", "conversation_id": conversation}, format="json"
    )
    return conversation, agent


def test_the_reads_take_the_same_statements_for_one_row_or_many(api):
    conversation, agent = _scene(api, "First")
    api.get(BASE + "models?type=llm")  # warms the key cache
    few = _reads(api, conversation, agent)
    for index in range(4):
        _scene(api, f"More {index}")
    many = _reads(api, conversation, agent)

    assert few == READS
    assert many == READS


def test_the_writes_take_a_pinned_number_of_statements(api):
    conversation, agent = _scene(api, "First")
    api.get(BASE + "models?type=llm")
    messages = [{"role": "user", "content": "Hi"}]
    counts = {
        "conversation create": _count(_post(api, "conversations", {"agent_id": agent, "messages": messages})),
        "message": _count(_post(api, f"conversations/{conversation}/messages", {"content": "Hello again"})),
        "completion": _count(_post(api, "completions", {"messages": messages, "llm_id": "scripted"})),
        "completion with agent": _count(
            _post(api, "completions", {"messages": messages, "llm_id": "scripted", "agent_id": agent})
        ),
        "image": _count(_post(api, "images", {"prompt": "A beach", "sd_model_id": "builtin"})),
        "image in conversation": _count(
            _post(api, "images", {"prompt": "A cat", "sd_model_id": "builtin", "conversation_id": conversation})
        ),
    }
    assert counts == WRITES
