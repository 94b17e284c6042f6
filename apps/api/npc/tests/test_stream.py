"""``message/stream`` driven by Foil's own SDK (sync and async) against a live server: the step's metadata
first, the reply's tokens as the model sends them, then the whole response; failures after the start are
``error`` events and write nothing; failures before it are the SDK's exceptions."""

import asyncio
import json

import httpx
import pytest
from foilengine import AsyncFoilEngineClient, FoilEngineClient
from foilengine.errors import BadRequestError, NotFoundError
from foilengine.types import ChatResponse, ChatStreamMetadata

from apps.accounts.models import UsageRecord
from apps.conversations.models import Event
from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import services as npcs_services
from apps.npcs.models import Playthrough

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def npc(owner):
    return npcs_services.npc_save(app=owner.api_key.app, body=scenario_body())


@pytest.fixture
def client(live_server, owner):
    with FoilEngineClient(api_key=owner.raw_key, base_url=f"{live_server.url}/npc", max_retries=0) as sdk:
        yield sdk


def _fields(data) -> dict:
    return {name: value for name, value in vars(data).items() if name != "message"}


def test_the_sdk_streams_the_step_first_then_the_reply_then_the_whole_response(client, npc):
    client.chat.init_session(npc.id, "player-1", "Ada", "female")
    events = list(client.chat.send_message_stream(npc.id, "Hello, gatekeeper", "player-1"))

    kinds = [event.event_type for event in events]
    assert kinds[0] == "metadata" and kinds[-1] == "done"
    assert set(kinds[1:-1]) == {"text_delta"} and len(kinds) > 3  # the offline model streams word by word
    metadata, done = events[0].data, events[-1].data
    assert isinstance(metadata, ChatStreamMetadata) and isinstance(done, ChatResponse)
    assert (metadata.current_state, metadata.score, metadata.decision) == ("trust", 2, "pass")
    assert _fields(metadata) == _fields(done)  # what was announced first is what the turn did
    assert "".join(event.data["text"] for event in events[1:-1]) == done.message

    history = client.chat.get_history(npc.id, "player-1")
    assert [(m.role, m.content) for m in history.messages][-2:] == [
        ("user", "Hello, gatekeeper"),
        ("assistant", done.message),
    ]
    assert client.chat.get_session(npc.id, "player-1").current_state == "trust"


def test_tokens_leave_while_the_model_is_still_writing(client, npc, fake_llm):
    """The fake model sends one token and holds the rest: the player already has the step and that token,
    and nothing is written until the reply is whole."""
    fake_llm.set_mode("stream_hold", delay_seconds=10)
    client.chat.init_session(npc.id, "player-1", "Ada", "female")
    stream = client.chat.send_message_stream(npc.id, "Hello, gatekeeper", "player-1")

    first, second = next(stream), next(stream)
    assert (first.event_type, first.data.current_state) == ("metadata", "trust")
    assert second.event_type == "text_delta" and second.data["text"]
    playthrough = Playthrough.objects.get(player_session_id="player-1")
    assert playthrough.current_state.key == "start"  # the turn is written after the reply
    [reply_request] = [r for r in fake_llm.chat_requests if r.body.get("stream")]
    assert reply_request.body["stream_options"] == {"include_usage": True}

    fake_llm.release_streams()
    rest = list(stream)
    assert rest[-1].event_type == "done"
    assert second.data["text"] + "".join(e.data["text"] for e in rest[:-1]) == rest[-1].data.message
    playthrough.refresh_from_db()
    assert (playthrough.current_state.key, playthrough.score) == ("trust", 2)
    reply_usage = UsageRecord.objects.get(purpose="reply", session_id=rest[-1].data.session_id)
    assert reply_usage.output_tokens == len(rest[-1].data.message.split())  # the server's own count


def test_a_reply_that_breaks_mid_stream_is_an_error_event_and_writes_nothing(client, npc, fake_llm):
    client.chat.init_session(npc.id, "player-1", "Ada", "female")
    fake_llm.set_mode("stream_cut")
    events = list(client.chat.send_message_stream(npc.id, "Hello, gatekeeper", "player-1"))

    assert [e.event_type for e in events] == ["metadata", "text_delta", "text_delta", "error"]
    assert events[-1].data["code"] == "llm_unavailable" and events[-1].data["error"]
    assert client.chat.get_session(npc.id, "player-1").current_state == "start"
    assert [m.role for m in client.chat.get_history(npc.id, "player-1").messages] == ["assistant"]
    assert UsageRecord.objects.get(purpose="reply").outcome == "failed"

    fake_llm.set_mode("instant")  # the same message again goes through
    done = list(client.chat.send_message_stream(npc.id, "Hello, gatekeeper", "player-1"))[-1]
    assert (done.event_type, done.data.current_state) == ("done", "trust")


def test_what_fails_before_the_stream_starts_is_an_ordinary_error(live_server, client, npc, owner):
    with pytest.raises(NotFoundError):
        list(client.chat.send_message_stream("npc_missing", "hello", "player-1"))
    with pytest.raises(NotFoundError):  # no session yet
        list(client.chat.send_message_stream(npc.id, "hello", "player-1"))
    client.chat.init_session(npc.id, "player-1", "Ada", "female")
    list(client.chat.send_message_stream(npc.id, "hello", "player-1"))
    list(client.chat.send_message_stream(npc.id, "the password", "player-1"))
    with pytest.raises(BadRequestError):  # the playthrough has ended
        list(client.chat.send_message_stream(npc.id, "hello?", "player-1"))

    url = f"{live_server.url}/npc/api/v1/sdk/chat/{npc.id}/message/stream"
    headers = {"X-API-Key": owner.raw_key}
    for body in ({"message": "", "user_session_id": "player-1"}, {"user_session_id": "player-1"}, [1]):
        answer = httpx.post(url, json=body, headers=headers)
        assert answer.status_code == 400 and answer.json()["error"]["message"]
    assert httpx.post(url, json={"message": "hi", "user_session_id": "p"}).status_code == 401
    assert httpx.get(url, headers=headers).status_code == 405


def test_the_stream_frames_are_server_sent_events_with_event_lines(live_server, client, npc, owner):
    client.chat.init_session(npc.id, "player-1", "Ada", "female")
    url = f"{live_server.url}/npc/api/v1/sdk/chat/{npc.id}/message/stream"
    answer = httpx.post(
        url, json={"message": "weather?", "user_session_id": "player-1"}, headers={"X-API-Key": owner.raw_key}
    )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
    assert answer.headers["cache-control"] == "no-cache"
    frames = [frame for frame in answer.text.split("\n\n") if frame]
    parsed = [(frame.split("\n")[0], json.loads(frame.split("\n")[1].removeprefix("data: "))) for frame in frames]
    assert parsed[0][0] == "event: metadata" and parsed[-1][0] == "event: done"
    assert set(parsed[0][1]) == set(parsed[-1][1]) - {"message"}
    assert Event.objects.filter(session_id=parsed[-1][1]["session_id"], event_type="npc.state_changed").count() == 0


def test_the_async_client_plays_the_whole_scenario_streaming_included(live_server, owner, npc):
    async def play():
        async with AsyncFoilEngineClient(
            api_key=owner.raw_key, base_url=f"{live_server.url}/npc", max_retries=0
        ) as sdk:
            [persona] = await sdk.personas.list_async()
            opened = await sdk.chat.init_session_async(persona.id, "player-7", "Ada", "female")
            stay = await sdk.chat.send_message_async(persona.id, "Nice weather", "player-7")
            events = [event async for event in sdk.chat.send_message_stream_async(persona.id, "hello", "player-7")]
            won = await sdk.chat.send_message_async(persona.id, "password", "player-7")
            status = await sdk.chat.get_session_async(persona.id, "player-7")
            history = await sdk.chat.get_history_async(persona.id, "player-7")
            machines = await sdk.machines.list_async(persona.id, "player-7")
            reset = await sdk.chat.reset_async(persona.id, "player-7")
            return opened, stay, events, won, status, history, machines, reset

    opened, stay, events, won, status, history, machines, reset = asyncio.run(play())
    assert opened.player_name == "Ada"
    assert (stay.decision, stay.redirect_count) == ("redirect", 1)
    assert [e.event_type for e in events][0] == "metadata" and events[-1].data.current_state == "trust"
    assert (won.outcome, won.machine_completed, [m.machine_key for m in won.unlocked_machines]) == (
        "ACCEPT",
        True,
        ["vault"],
    )
    assert (status.current_state, status.score) == ("won", 7)
    assert len(history.messages) == 7
    assert {m.machine_key for m in machines} == {"gate", "vault"}
    assert reset.session_id != opened.session_id


def test_a_standard_sse_client_that_accepts_only_event_streams_is_served(live_server, client, npc, owner):
    client.chat.init_session(npc.id, "player-1", "Ada", "female")
    url = f"{live_server.url}/npc/api/v1/sdk/chat/{npc.id}/message/stream"
    headers = {"X-API-Key": owner.raw_key, "Accept": "text/event-stream"}
    answer = httpx.post(url, json={"message": "hello", "user_session_id": "player-1"}, headers=headers)
    assert answer.status_code == 200 and answer.text.startswith("event: metadata\n")
    refused = httpx.post(url, json={"message": "", "user_session_id": "player-1"}, headers=headers)
    assert refused.status_code == 400 and refused.json()["error"]["message"]
