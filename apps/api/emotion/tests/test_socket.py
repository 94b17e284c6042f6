"""The WebSocket /emotion/v1/ws/{sessionId} through Channels (the real ASGI application and channel layer).

Servers authenticate with the API key in the handshake's Authorization header; browsers with a stream token
in ``?token=``; a signed-in superuser with the admin's session cookie; molroo's clients with their API key
as ``?token=`` (molroo's own protocol).
"""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from apps.accounts import services as accounts_services
from apps.api.emotion.tests.test_personas import APPRAISAL
from apps.conversations.tests.factories import session_start
from apps.core import clock
from apps.personas import services as persona_services
from apps.personas.models import PersonaSession, ProactiveAction
from config.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)
TIMEOUT = 10


def _connect(session_id: str, key: str = "", *, query: str = "", cookie: str = "") -> WebsocketCommunicator:
    headers = [(b"authorization", f"Bearer {key}".encode())] if key else []
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, f"/emotion/v1/ws/{session_id}{query}", headers=headers)


async def _open(session_id: str, key: str = "", **how) -> WebsocketCommunicator:
    socket = _connect(session_id, key, **how)
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


@pytest.mark.parametrize(("key", "code", "close"), [("", "UNAUTHORIZED", 4001), ("drm_x_y", "UNAUTHORIZED", 4001)])
def test_bad_key_is_refused(persona, key, code, close):
    async def scenario():
        socket = _connect(persona, key)
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


def _refused(session_id: str, close: int = 4001, **how) -> dict:
    async def scenario():
        socket = _connect(session_id, **how)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert connected
        error = await socket.receive_json_from(TIMEOUT)
        assert error["type"] == "error"
        assert (await socket.receive_output(TIMEOUT)) == {"type": "websocket.close", "code": close}
        await socket.disconnect()  # the consumer ends (and gives its connection back) before the loop does
        return error["error"]

    return asyncio.run(scenario())


def test_a_browser_opens_the_socket_with_a_stream_token(api, anon, owner, persona):
    minted = api.post(f"/emotion/v1/persona/{persona}/stream-token")
    assert minted.status_code == 201, minted.content
    body = minted.json()
    assert set(body) == {"token", "expiresAt", "url"} and body["url"].startswith(f"/emotion/v1/ws/{persona}?token=")
    assert owner.raw_key not in body["url"]

    async def scenario():
        socket = await _open(persona, query=f"?token={body['token']}")
        await socket.send_json_to({"type": "turn", "message": "Thank you, that was kind!"})
        assert (await socket.receive_json_from(TIMEOUT))["type"] == "turn_result"
        await socket.disconnect()

    asyncio.run(scenario())
    assert PersonaSession.objects.get(pk=persona).turn_count == 1
    # the token is no key for the REST endpoints
    assert anon.get(f"/emotion/v1/state/{persona}?token={body['token']}").status_code == 401


def test_molroo_clients_open_it_with_their_key_as_the_token(owner, other, persona):
    """molroo's published WebSocket takes the API key in ?token=: its clients only change their base URL."""

    async def scenario():
        socket = await _open(persona, query=f"?token={owner.raw_key}")
        await socket.send_json_to({"type": "turn", "message": "hello again"})
        assert (await socket.receive_json_from(TIMEOUT))["type"] == "turn_result"
        await socket.disconnect()

    asyncio.run(scenario())
    assert PersonaSession.objects.get(pk=persona).turn_count == 1
    foreign = _refused(persona, close=4004, query=f"?token={other.raw_key}")  # the session looks absent
    assert (foreign["code"], foreign["status"]) == ("NOT_FOUND", 404), foreign
    wrong = _refused(persona, query=f"?token={owner.raw_key[:-4]}abcd")  # a key that is not ours
    assert (wrong["code"], wrong["status"]) == ("UNAUTHORIZED", 401), wrong


def test_tokens_for_other_streams_are_refused(api, owner, persona):
    sibling = api.post("/emotion/v1/persona", {"preset": "stoic_mentor"}, format="json").json()["sessionId"]
    token = api.post(f"/emotion/v1/persona/{sibling}/stream-token").json()["token"]
    native = session_start(owner.api_key.app, greeting="hi")
    native_token = api.post(f"/v1/sessions/{native.id}/stream-token", format="json").json()["data"]["token"]

    for query in (f"?token={token}", f"?token={native_token}", "?token=forged"):
        error = _refused(persona, query=query)
        assert (error["code"], error["status"]) == ("UNAUTHORIZED", 401), (query, error)
    assert PersonaSession.objects.get(pk=persona).turn_count == 0


def test_minting_for_another_apps_session_is_not_found(other_api, anon, persona, nothing_written):
    with nothing_written():
        foreign = other_api.post(f"/emotion/v1/persona/{persona}/stream-token")
        missing = anon.post(f"/emotion/v1/persona/{persona}/stream-token")
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "NOT_FOUND"
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "UNAUTHORIZED"


def test_a_signed_in_superuser_opens_their_playground_apps_socket(client, django_user_model, persona):
    admin = django_user_model.objects.create_superuser(username="root", password="x")
    client.force_login(admin)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    playground = accounts_services.playground_app_ensure(user=admin)
    own = persona_services.persona_session_create(app=playground, spec={"preset": "cheerful_companion"}).id

    async def scenario():
        socket = await _open(own, cookie=cookie)
        await socket.disconnect()

    asyncio.run(scenario())
    # another app's session looks absent to the superuser's playground app
    assert _refused(persona, close=4004, cookie=cookie)["code"] == "NOT_FOUND"


def test_a_staff_user_bound_to_an_app_opens_its_sockets(client, django_user_model, owner, persona):
    staff = django_user_model.objects.create_user(username="staff", password="x", is_staff=True)
    client.force_login(staff)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    # bound to no app: refused like a request without credentials
    assert _refused(persona, close=4001, cookie=cookie)["code"] == "UNAUTHORIZED"

    accounts_services.app_staff_bind(user=staff, app=owner.api_key.app)

    async def scenario():
        socket = await _open(persona, cookie=cookie)
        await socket.disconnect()

    asyncio.run(scenario())
    other = accounts_services.app_create(name="other app")
    foreign = persona_services.persona_session_create(app=other, spec={"preset": "cheerful_companion"}).id
    assert _refused(foreign, close=4004, cookie=cookie)["code"] == "NOT_FOUND"  # another app's: absent


def test_a_socket_past_the_keys_stream_limit_is_closed_4029_and_frees_its_slot_on_close(owner, persona, settings):
    from apps.core.stream_leases import stream_lease_acquire, stream_leases_held, stream_leases_reset

    settings.STREAM_MAX_CONNECTIONS_PER_KEY = 2
    stream_leases_reset()
    held = stream_lease_acquire(owner=f"key:{owner.api_key.pk}")  # a stream the key holds elsewhere

    async def scenario():
        first = await _open(persona, owner.raw_key)
        refused = _connect(persona, owner.raw_key)
        connected, _ = await refused.connect(timeout=TIMEOUT)
        assert connected  # accepted, then told why and closed
        error = await refused.receive_json_from(TIMEOUT)
        assert error["error"]["code"] == "RATE_LIMIT" and error["error"]["status"] == 429
        assert (await refused.receive_output(TIMEOUT)) == {"type": "websocket.close", "code": 4029}
        await first.disconnect()
        again = await _open(persona, owner.raw_key)  # the closed socket gave its slot back
        await again.disconnect()

    asyncio.run(scenario())
    held.release()
    assert stream_leases_held(owner=f"key:{owner.api_key.pk}") == 0
    stream_leases_reset()
