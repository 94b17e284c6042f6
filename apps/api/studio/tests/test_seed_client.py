"""A client of the seed's API (``/api/v1/...`` on its vendor) pointed at ``/studio`` by changing only its base
URL: the seed's own requests, in the seed's order, with the seed's example bodies, read back in the seed's
shapes. Ids the seed invents (``model_abc123``, ``agent_xyz789``) are replaced by ones this server listed."""

import httpx
import pytest

pytestmark = pytest.mark.django_db(transaction=True)


class SeedClient:
    """What an integrator's thin client of the seed API looks like: a base URL, a bearer key, JSON."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30)

    def call(self, method: str, path: str, **kwargs):
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{response.status_code}: {response.json()['error']}")
        return response.json()


def _shape(body: dict, fields: set[str]) -> None:
    assert fields <= set(body), (fields - set(body), body)


def test_the_seeds_requests_work_against_studio_by_changing_only_the_base_url(live_server, owner):
    client = SeedClient(f"{live_server.url}/studio/api/v1", owner.raw_key)  # was https://<vendor>/api/v1

    llms = client.call("GET", "/models", params={"type": "llm"})
    sds = client.call("GET", "/models", params={"type": "sd"})
    for model in llms + sds:
        _shape(model, {"id", "name", "max_context", "cost_per_1k_tokens"})
    llm_id, sd_model_id = llms[0]["id"], sds[0]["id"]

    agent = client.call(
        "POST",
        "/agents",
        json={
            "name": "Financial Advisor",
            "appearance_prompt": "Professional, suit and tie",
            "personality_prompt": "Knowledgeable about finance, patient",
            "description": "An agent specialized in financial advice",
            "sd_model_id": sd_model_id,
            "age": 35,
        },
    )
    _shape(agent, {"id", "name", "appearance_prompt", "personality_prompt", "description", "avatar_url"})
    assert agent["appearance_prompt"] == "35 years old, Professional, suit and tie"
    for listed in client.call("GET", "/agents") + [client.call("GET", f"/agents/{agent['id']}")]:
        _shape(listed, {"id", "name", "appearance_prompt", "personality_prompt", "description"})

    completion = client.call(
        "POST",
        "/completions",
        json={
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Tell me about AI."},
            ],
            "llm_id": llm_id,
            "agent_id": agent["id"],
        },
    )
    _shape(completion, {"id", "content", "role", "created_at"})
    assert completion["role"] == "agent" and completion["content"]

    conversation = client.call(
        "POST",
        "/conversations",
        json={
            "title": "New Discussion",
            "system_prompt": "You are a helpful assistant.",
            "llm_id": llm_id,
            "agent_id": agent["id"],
            "messages": [],
        },
    )
    conversation_fields = {"id", "title", "system_prompt", "llm_id", "last_message_at", "agent_id"}
    _shape(conversation, conversation_fields)
    for listed in client.call("GET", "/conversations") + [client.call("GET", f"/conversations/{conversation['id']}")]:
        _shape(listed, conversation_fields)

    reply = client.call(
        "POST",
        f"/conversations/{conversation['id']}/messages",
        json={"content": "Tell me about neural networks.", "llm_id": llm_id, "verbose": True},
    )
    _shape(reply, {"id", "content", "role", "created_at"})
    assert reply["role"] == "agent"
    messages = client.call("GET", f"/conversations/{conversation['id']}/messages")
    assert [m["role"] for m in messages] == ["user", "agent"]
    for message in messages:
        _shape(message, {"id", "content", "role", "created_at"})

    image = client.call(
        "POST",
        "/images",
        json={
            "prompt": "A serene beach at sunset with palm trees",
            "sd_model_id": sd_model_id,
            "conversation_id": conversation["id"],
        },
    )
    _shape(image, {"id", "prompt", "url", "created_at"})
    page = client.call("GET", "/images", params={"page": 1, "page_size": 10})
    assert set(page) == {"data", "pagination"}
    assert set(page["pagination"]) == {
        "total_items",
        "current_page",
        "page_size",
        "total_pages",
        "next_page",
        "prev_page",
    }
    assert image["id"] in [item["id"] for item in page["data"]]
    assert client.call("GET", f"/conversations/{conversation['id']}/messages")[-1]["content"] == ""  # the picture

    with pytest.raises(RuntimeError, match="^404: "):
        client.call("GET", "/conversations/conv_123abc")
