"""``POST conversations/{id}/messages`` (a turn of the conversation's session, answered in the request) and
``POST completions`` (a stateless answer, nothing written to any conversation), both metered."""

import pytest

from apps.accounts.models import UsageRecord
from apps.api.studio.tests.conftest import assert_error
from apps.conversations.models import Event, Run, Session

pytestmark = pytest.mark.django_db(transaction=True)

AGENT = {
    "name": "Technical Advisor",
    "personality_prompt": "Helpful and technically proficient",
    "description": "A technical expert who can help with coding questions",
    "sd_model_id": "builtin",
}


@pytest.fixture
def agent(studio):
    return studio.post("agents", json=AGENT).json()


@pytest.fixture
def conversation(studio, agent):
    body = {"title": "AI", "system_prompt": "Answer in one line.", "agent_id": agent["id"]}
    return studio.post("conversations", json=body).json()


def test_a_message_is_a_turn_answered_by_the_agent(studio, conversation, announced):
    response = studio.post(f"conversations/{conversation['id']}/messages", json={"content": "Tell me about AI."})

    assert response.status_code == 201, response.text
    reply = response.json()
    assert set(reply) == {"id", "content", "role", "created_at"}
    assert reply["role"] == "agent" and reply["content"] and reply["id"].startswith("evt_")
    events = Event.objects.filter(session_id=conversation["id"]).order_by("cursor")
    assert [(e.event_type, e.role) for e in events if e.event_type == "message.created"] == [
        ("message.created", "user"),
        ("message.created", "character"),
    ]
    assert Run.objects.get(session_id=conversation["id"]).status == "succeeded"
    assert UsageRecord.objects.filter(session_id=conversation["id"], purpose="reply").count() == 1
    listed = studio.get(f"conversations/{conversation['id']}/messages").json()
    assert [(m["role"], m["content"]) for m in listed] == [("user", "Tell me about AI."), ("agent", reply["content"])]
    assert listed[-1]["id"] == reply["id"]
    assert studio.get(f"conversations/{conversation['id']}").json()["last_message_at"] == reply["created_at"]
    assert any(e["event_type"] == "message.created" and e["role"] == "character" for e in announced)


def test_verbose_adds_the_thought_process(studio, conversation):
    response = studio.post(f"conversations/{conversation['id']}/messages", json={"content": "Hello", "verbose": True})

    assert response.status_code == 201, response.text
    thought = response.json()["thought_process"]
    sources = [part["source"] for part in thought["prompt"]]
    assert sources[:2] == ["character", "instructions"] and "history" in sources
    assert "Answer in one line." in thought["prompt"][1]["text"]
    assert "Helpful and technically proficient" in thought["prompt"][0]["text"]  # the agent's personality
    assert set(thought) >= {"model", "emotion", "scenario", "timings_ms"}


def test_the_model_is_the_messages_then_the_conversations(studio, owner, fake_llm, agent):
    conversation = studio.post("conversations", json={"agent_id": agent["id"], "llm_id": "scripted"}).json()

    studio.post(f"conversations/{conversation['id']}/messages", json={"content": "Offline please"})
    assert fake_llm.chat_requests == []  # the conversation's model: the offline one
    response = studio.post(
        f"conversations/{conversation['id']}/messages", json={"content": "Now the server", "llm_id": "fake-chat"}
    )
    assert response.status_code == 201, response.text
    assert len(fake_llm.chat_requests) == 1 and fake_llm.chat_requests[0].body["model"] == "fake-chat"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": ""}, "content"),
        ({}, "content"),
        ({"content": 5}, "content"),
        ({"content": "x", "llm_id": "nope"}, "nope"),
    ],
)
def test_a_bad_message_is_400_and_writes_nothing(studio, conversation, body, field):
    assert field in assert_error(studio.post(f"conversations/{conversation['id']}/messages", json=body), 400)
    assert not Event.objects.filter(session_id=conversation["id"]).exists()
    assert not Run.objects.exists()


def test_without_room_in_the_budget_a_message_is_402_and_writes_nothing(studio, conversation, broke):
    message = assert_error(studio.post(f"conversations/{conversation['id']}/messages", json={"content": "Hi"}), 402)

    assert message.startswith("Insufficient account balance")
    assert not Event.objects.filter(session_id=conversation["id"]).exists()


def test_a_message_without_a_key_is_401(anon_studio, conversation):
    assert_error(anon_studio.post(f"conversations/{conversation['id']}/messages", json={"content": "Hi"}), 401)
    assert_error(anon_studio.get(f"conversations/{conversation['id']}/messages"), 401)
    assert not Event.objects.filter(session_id=conversation["id"]).exists()


# --- completions -----------------------------------------------------------------------------------------
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Tell me about AI."},
]


def test_a_completion_answers_from_the_model_and_writes_no_conversation(studio, owner, fake_llm):
    response = studio.post("completions", json={"messages": MESSAGES, "llm_id": "fake-chat"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"id", "content", "role", "created_at"}
    assert body["role"] == "agent" and body["content"] and body["id"].startswith("cmpl_")
    [request] = fake_llm.chat_requests
    assert [(m["role"], m["content"]) for m in request.body["messages"]] == [
        ("system", "You are a helpful assistant."),
        ("user", "Tell me about AI."),
    ]
    assert not Session.objects.exists()
    assert UsageRecord.objects.filter(app=owner.api_key.app, purpose="reply", status="settled").count() == 1


def test_an_agents_persona_leads_a_completion(studio, agent, fake_llm):
    body = {"messages": [*MESSAGES, {"role": "agent", "content": "Sure."}, {"role": "user", "content": "More"}]}
    response = studio.post("completions", json={**body, "llm_id": "fake-chat", "agent_id": agent["id"]})

    assert response.status_code == 200, response.text
    sent = fake_llm.chat_requests[0].body["messages"]
    assert sent[0]["role"] == "system" and "You are Technical Advisor" in sent[0]["content"]
    assert "Helpful and technically proficient" in sent[0]["content"]
    assert [(m["role"], m["content"]) for m in sent[-3:]] == [
        ("user", "Tell me about AI."),
        ("assistant", "Sure."),
        ("user", "More"),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": MESSAGES}, "llm_id"),
        ({"messages": [], "llm_id": "scripted"}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}], "llm_id": "scripted"}, "messages"),
        ({"messages": MESSAGES, "llm_id": "no-such-model"}, "no-such-model"),
    ],
)
def test_a_bad_completion_is_400_and_spends_nothing(studio, body, field):
    assert field in assert_error(studio.post("completions", json=body), 400)
    assert not UsageRecord.objects.exists()


def test_another_apps_agent_is_404_for_a_completion(studio, other_studio):
    theirs = other_studio.post("agents", json=AGENT).json()
    body = {"messages": MESSAGES, "llm_id": "scripted", "agent_id": theirs["id"]}
    assert_error(studio.post("completions", json=body), 404)


def test_without_room_in_the_budget_a_completion_is_402(studio, broke, fake_llm):
    message = assert_error(studio.post("completions", json={"messages": MESSAGES, "llm_id": "fake-chat"}), 402)
    assert message.startswith("Insufficient account balance")
    assert fake_llm.chat_requests == []


def test_a_completion_without_a_key_is_401(anon_studio):
    assert_error(anon_studio.post("completions", json={"messages": MESSAGES, "llm_id": "scripted"}), 401)
