"""Every endpoint's real responses (successes and errors) validate against /studio/api/v1/openapi.json."""

from decimal import Decimal

import pytest
from jsonschema import Draft202012Validator

from apps.accounts import services as accounts_services

pytestmark = pytest.mark.django_db

BASE = "/studio/api/v1"


@pytest.fixture
def document(anon):
    response = anon.get(f"{BASE}/openapi.json")
    assert response.status_code == 200
    document = response.json()
    Draft202012Validator.check_schema({"$defs": document["components"]["schemas"]})
    return document


def _check(document, path: str, method: str, response) -> None:
    responses = document["paths"][path][method]["responses"]
    assert str(response.status_code) in responses, (path, method, response.status_code, response.content[:300])
    schema = responses[str(response.status_code)]["content"]["application/json"]["schema"]
    Draft202012Validator({**schema, "components": document["components"]}).validate(response.json())


def test_responses_match_the_document(api, anon, document, owner):
    def get(path, **params):
        return api.get(BASE + path, params)

    def post(path, body):
        return api.post(BASE + path, body, format="json")

    _check(document, "/models", "get", get("/models", type="llm"))
    _check(document, "/models", "get", get("/models", type="sd"))
    _check(document, "/models", "get", get("/models"))
    _check(document, "/models", "get", anon.get(f"{BASE}/models?type=llm"))
    agent = post("/agents", {"name": "Ada", "sd_model_id": "builtin", "age": 30})
    _check(document, "/agents", "post", agent)
    _check(document, "/agents", "post", post("/agents", {"name": "Ada", "sd_model_id": "builtin", "age": 12}))
    _check(document, "/agents", "get", get("/agents"))
    _check(document, "/agents/{agent_id}", "get", get(f"/agents/{agent.json()['id']}"))
    _check(document, "/agents/{agent_id}", "get", get("/agents/char_nope"))
    messages = [{"role": "user", "content": "Hi"}]
    _check(document, "/completions", "post", post("/completions", {"messages": messages, "llm_id": "scripted"}))
    _check(document, "/completions", "post", post("/completions", {"messages": messages}))
    body = {"agent_id": agent.json()["id"], "messages": messages, "title": "T"}
    conversation = post("/conversations", body)
    _check(document, "/conversations", "post", conversation)
    cid = conversation.json()["id"]
    _check(document, "/conversations", "get", get("/conversations"))
    _check(document, "/conversations/{conversation_id}", "get", get(f"/conversations/{cid}"))
    _check(document, "/conversations/{conversation_id}", "get", get("/conversations/sess_nope"))
    reply = post(f"/conversations/{cid}/messages", {"content": "Hello", "verbose": True})
    _check(document, "/conversations/{conversation_id}/messages", "post", reply)
    _check(
        document,
        "/images",
        "post",
        post("/images", {"prompt": "A cat", "sd_model_id": "builtin", "conversation_id": cid}),
    )
    _check(document, "/images", "post", post("/images", {"prompt": "A cat"}))
    _check(document, "/conversations/{conversation_id}/messages", "get", get(f"/conversations/{cid}/messages"))
    _check(document, "/images", "get", get("/images", page=1, page_size=5))
    accounts_services.budget_policy_set(app=owner.api_key.app, limit_credits=Decimal(0))
    _check(document, "/images", "post", post("/images", {"prompt": "A cat", "sd_model_id": "builtin"}))
    _check(document, "/completions", "post", post("/completions", {"messages": messages, "llm_id": "scripted"}))
