"""Conversations: a conversation is a session (on an agent, or on the app's built-in assistant) with its title,
system prompt, model and initial messages; listed and read with the time of its latest message."""

import pytest

from apps.api.studio.tests.conftest import assert_error
from apps.characters.models import Character
from apps.characters.services import ASSISTANT_SLUG
from apps.conversations.models import Event, Session

pytestmark = pytest.mark.django_db(transaction=True)

AGENT = {"name": "Technical Advisor", "personality_prompt": "Helpful", "sd_model_id": "builtin"}


@pytest.fixture
def agent(studio):
    return studio.post("agents", json=AGENT).json()


def test_a_conversation_with_an_agent_and_initial_messages_is_a_session_with_its_log(studio, owner, agent, announced):
    response = studio.post(
        "conversations",
        json={
            "title": "New Discussion",
            "system_prompt": "You are a helpful assistant.",
            "llm_id": "scripted",
            "agent_id": agent["id"],
            "messages": [
                {"role": "user", "content": "Hi there"},
                {"role": "agent", "content": "Hello! How can I help?"},
                {"role": "user", "content": "Tell me about AI."},
            ],
        },
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("sess_")
    assert {key: body[key] for key in ("title", "system_prompt", "llm_id", "agent_id")} == {
        "title": "New Discussion",
        "system_prompt": "You are a helpful assistant.",
        "llm_id": "scripted",
        "agent_id": agent["id"],
    }
    session = Session.objects.get(pk=body["id"], app=owner.api_key.app)
    assert (session.title, session.model, session.character_id) == ("New Discussion", "scripted", agent["id"])
    events = list(Event.objects.filter(session=session).order_by("cursor"))
    assert [(e.cursor, e.event_type, e.role, e.payload["text"]) for e in events] == [
        (1, "message.created", "user", "Hi there"),
        (2, "message.created", "character", "Hello! How can I help?"),
        (3, "message.created", "user", "Tell me about AI."),
    ]
    assert [e.payload.get("turn_index") for e in events] == [1, None, 2]
    session.refresh_from_db()
    assert (session.last_cursor, session.user_turn_count) == (3, 2)
    assert body["last_message_at"] == events[-1].created_at.isoformat().replace("+00:00", "Z")
    assert [e["cursor"] for e in announced if e["session_id"] == session.id] == [1, 2, 3]

    messages = studio.get(f"conversations/{body['id']}/messages").json()
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "Hi there"),
        ("agent", "Hello! How can I help?"),
        ("user", "Tell me about AI."),
    ]
    assert all(m["id"].startswith("evt_") and m["created_at"] for m in messages)


def test_a_conversation_without_an_agent_talks_to_the_apps_built_in_assistant(studio, owner):
    first = studio.post("conversations", json={"title": "Plain"})
    second = studio.post("conversations", json={"title": "Plain again"})

    assert first.status_code == second.status_code == 201
    assert first.json()["agent_id"] is None and first.json()["llm_id"] is None
    assert first.json()["last_message_at"] is None
    [assistant] = Character.objects.filter(app=owner.api_key.app, slug=ASSISTANT_SLUG)
    assert set(Session.objects.values_list("character_id", flat=True)) == {assistant.pk}  # one, made once
    assert studio.get("agents").json() == []  # the built-in assistant is not an agent


def test_conversations_are_listed_newest_first_and_read_by_id(studio, other_studio, agent):
    first = studio.post("conversations", json={"title": "One", "agent_id": agent["id"]}).json()
    second = studio.post("conversations", json={"title": "Two", "messages": [{"role": "user", "content": "Hi"}]})
    other_studio.post("conversations", json={"title": "Theirs"})

    listed = studio.get("conversations").json()
    assert [c["title"] for c in listed] == ["Two", "One"]
    assert listed[0]["last_message_at"] is not None and listed[1]["last_message_at"] is None
    assert studio.get("conversations", params={"limit": 1}).json() == listed[:1]
    read = studio.get(f"conversations/{first['id']}")
    assert read.status_code == 200 and read.json() == {**first}
    assert second.status_code == 201


def test_another_apps_conversation_is_404(studio, other_studio, agent):
    theirs = other_studio.post("conversations", json={"title": "Theirs"}).json()

    assert_error(studio.get(f"conversations/{theirs['id']}"), 404)
    assert_error(studio.get(f"conversations/{theirs['id']}/messages"), 404)
    assert_error(studio.post(f"conversations/{theirs['id']}/messages", json={"content": "Hi"}), 404)
    assert_error(studio.get("conversations/sess_nope"), 404)
    # Another app's agent cannot be talked to either.
    their_agent = other_studio.post("agents", json=AGENT).json()
    assert_error(studio.post("conversations", json={"agent_id": their_agent["id"]}), 404)
    assert Event.objects.filter(session_id=theirs["id"]).count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"llm_id": "no-such-model"}, "no-such-model"),
        ({"messages": [{"role": "user", "content": ""}]}, "messages"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages"),
        ({"messages": [{"role": "user"}]}, "messages"),
        ({"messages": "hello"}, "messages"),
        ({"title": 7}, "title"),
    ],
)
def test_bad_input_is_400_and_writes_nothing(studio, body, field):
    assert field in assert_error(studio.post("conversations", json=body), 400)
    assert not Session.objects.exists() and not Event.objects.exists()
    assert not Character.objects.exists()  # not even the built-in assistant


def test_a_body_that_is_not_an_object_is_400(studio):
    assert_error(studio.post("conversations", json=["title"]), 400)
    assert_error(studio.post("conversations", content=b"{", headers={"Content-Type": "application/json"}), 400)
    assert not Session.objects.exists()


def test_without_a_key_it_is_401(anon_studio):
    assert_error(anon_studio.post("conversations", json={"title": "x"}), 401)
    assert_error(anon_studio.get("conversations"), 401)
    assert not Session.objects.exists()
