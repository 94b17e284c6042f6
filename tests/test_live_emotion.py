"""The molroo flow over real HTTP and a real WebSocket, against the running system (daphne / ``serve``).

Create a session from a preset, register a webhook, take turns until the persona's stage changes and its
emotion overflows, read the state, switch proactive behaviour on and let the absence trigger fire: a socket
opened on the session sees its own turn and the proactive action, and the receiver gets the three event
types signed (both signatures verified the way an integrator would); deleting the session removes it and
its webhooks.
"""

import asyncio
import json
from datetime import timedelta

import aiohttp
import pytest

from apps.accounts import services as accounts_services
from apps.core import clock
from apps.personas.models import PersonaSession
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.live import live_stack  # noqa: F401  (fixture)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

LIVE_ENV = {"PERSONA_PROACTIVE_SWEEP_SECONDS": "3600", "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}
SECRET = "molroo-style-secret-0123456789"
WEBHOOK_EVENTS = ["stage_transition", "emotional_overflow", "proactive_action"]
HOSTILE = {
    "goal_relevance": 1,
    "goal_congruence": -1,
    "expectedness": 0,
    "controllability": 0,
    "agency": -1,
    "norm_compatibility": -1,
}


async def _socket_collect(base_url: str, session_id: str, key: str, ready: asyncio.Event, until) -> list[dict]:
    url = base_url.replace("http://", "ws://") + f"/emotion/v1/ws/{session_id}"
    seen: list[dict] = []
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(
            url, headers={"Authorization": f"Bearer {key}"}, timeout=aiohttp.ClientWSTimeout(ws_close=10)
        ) as socket,
    ):
        async for frame in socket:
            message = json.loads(frame.data)
            seen.append(message)
            if message["type"] == "connected":
                await socket.send_json({"type": "turn", "message": "Thank you, you are so kind!"})
            if message["type"] == "turn_result":
                ready.set()
            if until(seen):
                return seen
    return seen


def test_molroo_flow_over_http(live_stack):  # noqa: F811
    with WebhookReceiver(secret=SECRET) as receiver:
        _flow(live_stack, receiver)


def _flow(live_stack, receiver) -> None:  # noqa: F811
    key = accounts_services.api_key_create(app=accounts_services.app_create(name="molroo client"), name="k").raw_key
    client = live_stack.client(key)
    presets = client.get("/emotion/v1/presets")
    assert presets.status == 200 and len(presets.body) == 5

    created = client.post("/emotion/v1/persona", {"preset": "anxious_helper", "identity": {"name": "Io"}})
    assert created.status == 201, created.body
    sid = created.body["sessionId"]
    assert created.body["persona"]["identity"]["name"] == "Io"
    hook = client.post(f"/emotion/v1/webhook/{sid}", {"url": receiver.url, "secret": SECRET, "events": WEBHOOK_EVENTS})
    assert hook.status == 201, hook.body
    assert client.get(f"/emotion/v1/webhook/{sid}").body == [hook.body]

    first = client.post("/emotion/v1/turn", {"sessionId": sid, "message": "Thank you so much, you helped me!"})
    assert first.status == 200 and first.body["new_emotion"]["V"] > 0
    for _ in range(20):
        last = client.post("/emotion/v1/turn/appraisal", {"sessionId": sid, "appraisal": HOSTILE})
        assert last.status == 200
    assert last.body["soul_stage"]["id"] > first.body["soul_stage"]["id"]
    state = client.get(f"/emotion/v1/state/{sid}")
    assert state.status == 200 and state.body["emotion"] == last.body["new_emotion"]

    preferences = {"enabled": True, "triggers": ["attachment_seeking"]}
    assert client.request("PUT", f"/emotion/v1/proactive/{sid}/preferences", preferences).status == 200

    def end_user_away() -> None:
        PersonaSession.objects.filter(pk=sid).update(last_turn_at=clock.now() - timedelta(days=3))

    async def socket_and_proactive():
        ready = asyncio.Event()
        collector = asyncio.create_task(
            _socket_collect(live_stack.base_url, sid, key, ready, until=lambda seen: seen[-1]["type"] == "proactive")
        )
        await asyncio.wait_for(ready.wait(), 20)  # the socket's own turn went through
        await asyncio.to_thread(end_user_away)
        actions = await asyncio.to_thread(client.get, f"/emotion/v1/proactive/{sid}")
        return actions, await asyncio.wait_for(collector, 20)

    actions, seen = asyncio.run(socket_and_proactive())
    assert actions.status == 200 and "attachment_seeking" in [a["type"] for a in actions.body]
    types = [message["type"] for message in seen]
    assert types[0] == "connected" and "turn_result" in types and types[-1] == "proactive"

    live_stack.wait_for(
        lambda: {item.json["event"] for item in receiver.received} >= set(WEBHOOK_EVENTS),
        what="the three webhook event types",
    )
    for item in receiver.received:
        assert item.legacy_signature_ok and item.standard_signature_ok, item.headers
        assert item.json["session_id"] == sid and item.json["id"] == item.headers["webhook-id"]
    proactive = next(item.json for item in receiver.received if item.json["event"] == "proactive_action")
    assert proactive["data"]["type"] == "attachment_seeking"

    deleted = client.request("DELETE", f"/emotion/v1/persona/{sid}")
    assert deleted.status == 200 and deleted.body == {"deleted": True, "id": sid}
    assert client.get(f"/emotion/v1/state/{sid}").body["error"]["code"] == "NOT_FOUND"
    assert client.get(f"/emotion/v1/webhook/{sid}").status == 404
