"""The WebSocket /emotion/v1/ws/{sessionId}?token= through Channels (the real ASGI application and channel layer)."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from apps.api.emotion.tests.test_personas import APPRAISAL
from apps.core import clock
from apps.personas.models import PersonaSession, ProactiveAction
from config.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)
TIMEOUT = 10


def _connect(session_id: str, token: str) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"/emotion/v1/ws/{session_id}?token={token}")


async def _open(session_id: str, token: str) -> WebsocketCommunicator:
    socket = _connect(session_id, token)
    connected, _ = await socket.connect(timeout=TIMEOUT)
    assert connected
    assert await socket.receive_json_from(TIMEOUT) == {"type": "connected", "session_id": session_id}
    return socket


def test_turns_in_results_and_pushes_out(api, owner, persona):
    async def scenario():
        socket = await _open(persona, owner.raw_key)
        await socket.send_json_to({"type": "turn", "message": "Thank you, that was really kind of you!"})
        reply = await socket.receive_json_from(TIMEOUT)
        assert reply["type"] == "turn_result"
        assert {"new_emotion", "discrete_emotion", "prompt_data", "appraisal"} <= set(reply["data"])
        assert reply["data"]["new_emotion"]["V"] > 0
        await socket.send_json_to({"type": "appraisal", "appraisal": APPRAISAL, "elapsedSeconds": 5})
        reply = await socket.receive_json_from(TIMEOUT)
        assert reply["type"] == "turn_result" and reply["data"]["appraisal"] == APPRAISAL
        # A turn made elsewhere (REST) is pushed to the socket as a state update, once.
        rest = await sync_to_async(api.post)(
            "/emotion/v1/turn", {"sessionId": persona, "message": "you are great"}, format="json"
        )
        pushed = await socket.receive_json_from(TIMEOUT)
        assert pushed == {"type": "state_update", "data": rest.json()}
        # Bad messages get an error frame and the socket stays usable.
        await socket.send_json_to({"type": "turn"})
        error = await socket.receive_json_from(TIMEOUT)
        assert error["type"] == "error" and error["error"]["code"] == "VALIDATION_ERROR"
        await socket.send_to(text_data="not json")
        assert (await socket.receive_json_from(TIMEOUT))["error"]["code"] == "VALIDATION_ERROR"
        await socket.send_json_to({"type": "ping"})
        assert await socket.receive_json_from(TIMEOUT) == {"type": "pong"}
        assert await socket.receive_nothing(0.2)
        await socket.disconnect()

    asyncio.run(scenario())
    assert PersonaSession.objects.get(pk=persona).turn_count == 3


def test_proactive_pushed_missed_and_acknowledged(api, owner, persona):
    api.put(f"/emotion/v1/proactive/{persona}/preferences", {"enabled": True}, format="json")
    PersonaSession.objects.filter(pk=persona).update(last_turn_at=clock.now() - timedelta(days=7))

    async def scenario():
        socket = await _open(persona, owner.raw_key)
        actions = (await sync_to_async(api.get)(f"/emotion/v1/proactive/{persona}")).json()
        pushed = await socket.receive_json_from(TIMEOUT)
        assert pushed["type"] == "proactive" and pushed["data"]["id"] == actions[0]["id"]
        await socket.disconnect()
        # Reconnecting delivers what is still pending as missed_proactive; an ack clears it.
        socket = await _open(persona, owner.raw_key)
        missed = await socket.receive_json_from(TIMEOUT)
        assert missed["type"] == "missed_proactive" and [a["id"] for a in missed["data"]] == [actions[0]["id"]]
        await socket.send_json_to({"type": "ack", "action_id": actions[0]["id"]})
        assert await socket.receive_json_from(TIMEOUT) == {"type": "ack", "action_id": actions[0]["id"]}
        await socket.send_json_to({"type": "ack", "action_id": "pa_nope"})
        assert (await socket.receive_json_from(TIMEOUT))["error"]["code"] == "NOT_FOUND"
        await socket.disconnect()
        socket = await _open(persona, owner.raw_key)
        assert await socket.receive_nothing(0.2)
        await socket.disconnect()

    asyncio.run(scenario())
    assert ProactiveAction.objects.get().acknowledged_at is not None


@pytest.mark.parametrize(("token", "code", "close"), [("", "UNAUTHORIZED", 4001), ("drm_x_y", "UNAUTHORIZED", 4001)])
def test_bad_key_is_refused(persona, token, code, close):
    async def scenario():
        socket = _connect(persona, token)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert connected
        error = await socket.receive_json_from(TIMEOUT)
        assert error["type"] == "error" and error["error"]["code"] == code
        assert (await socket.receive_output(TIMEOUT)) == {"type": "websocket.close", "code": close}

    asyncio.run(scenario())


def test_another_apps_session_is_not_found(other, persona):
    async def scenario():
        socket = _connect(persona, other.raw_key)
        await socket.connect(timeout=TIMEOUT)
        assert (await socket.receive_json_from(TIMEOUT))["error"]["code"] == "NOT_FOUND"
        assert (await socket.receive_output(TIMEOUT))["code"] == 4004

    asyncio.run(scenario())
    assert PersonaSession.objects.get(pk=persona).turn_count == 0
