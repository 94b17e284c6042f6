"""Foil's player chat routes, ``/npc/api/v1/chat/{persona_id}/...``: the SDK routes' bodies and errors on
either key header (``Authorization: Bearer`` or ``X-API-Key``)."""

import pytest
from rest_framework.test import APIClient

from apps.api.npc.tests.conftest import foil_client
from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import services as npcs_services

pytestmark = pytest.mark.django_db

PLAYER = {"user_session_id": "player-1"}


@pytest.fixture
def npc(owner):
    return npcs_services.npc_save(app=owner.api_key.app, body=scenario_body())


def _url(npc_id: str, route: str) -> str:
    return f"/npc/api/v1/chat/{npc_id}/{route}"


def test_a_round_trip_on_a_bearer_key(api, npc, byok_llm):
    opened = api.post(
        _url(npc.id, "init-session"), {**PLAYER, "player_name": "Ada", "player_gender": "female"}, format="json"
    )
    assert opened.status_code == 200 and opened.json()["persona_name"] == "Gatekeeper"

    sent = api.post(_url(npc.id, "message"), {**PLAYER, "message": "Hello, gatekeeper"}, format="json")
    assert sent.status_code == 200
    assert (sent.json()["decision"], sent.json()["current_state"], sent.json()["score"]) == ("pass", "trust", 2)

    status = api.get(_url(npc.id, "session"), PLAYER)
    assert (status.json()["current_state"], status.json()["session_id"]) == ("trust", opened.json()["session_id"])
    history = api.get(_url(npc.id, "history"), PLAYER).json()
    assert [m["role"] for m in history["messages"]] == ["assistant", "user", "assistant"]
    machines = api.get(_url(npc.id, "machines"), PLAYER).json()
    assert [m["machine_key"] for m in machines] == ["gate"]

    reset = api.post(f"{_url(npc.id, 'reset')}?user_session_id=player-1")
    assert reset.status_code == 200 and reset.json()["session_id"] != opened.json()["session_id"]
    assert api.get(_url(npc.id, "session"), PLAYER).json()["current_state"] == "start"
    assert byok_llm.requests == []


def test_the_message_route_takes_the_byok_headers_too(api, npc, byok_llm):
    api.post(_url(npc.id, "init-session"), {**PLAYER, "player_name": "Ada", "player_gender": "f"}, format="json")
    sent = api.post(
        _url(npc.id, "message"),
        {**PLAYER, "message": "Hello, gatekeeper"},  # a matcher decides: the reply is the only call
        format="json",
        headers={"X-LLM-API-Key": "sk-player-route-key", "X-LLM-Model": "their-model"},
    )
    assert sent.status_code == 200
    [reply] = byok_llm.chat_requests
    assert (reply.authorization, reply.body["model"]) == ("Bearer sk-player-route-key", "their-model")


def test_the_x_api_key_header_works_on_the_player_routes(owner, npc):
    body = {**PLAYER, "player_name": "Ada", "player_gender": "female"}
    assert foil_client(owner.raw_key).post(_url(npc.id, "init-session"), body, format="json").status_code == 200


def test_another_apps_private_persona_is_404(other_api, npc):
    response = other_api.post(
        _url(npc.id, "init-session"), {**PLAYER, "player_name": "Eve", "player_gender": "f"}, format="json"
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "npc_not_found"
    assert other_api.get(_url(npc.id, "history"), PLAYER).status_code == 404


def test_a_missing_key_is_401_in_foils_shape(npc):
    response = APIClient().post(
        _url(npc.id, "init-session"), {**PLAYER, "player_name": "Ada", "player_gender": "f"}, format="json"
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "missing_api_key", "message": "Send your API key in the X-API-Key header."}
    }
    assert APIClient().get(_url(npc.id, "history"), PLAYER).status_code == 401


def test_a_bad_bearer_key_is_401(npc):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer drm_nope_nope")
    assert client.get(_url(npc.id, "session"), PLAYER).status_code == 401
