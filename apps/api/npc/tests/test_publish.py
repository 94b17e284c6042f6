"""A machine is playable through the SDK routes only once published: the admin's Publish (the service behind
it) opens it to players, Unpublish closes it again."""

import pytest

from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import services as npcs_services

pytestmark = pytest.mark.django_db


def _init(foil, npc_id, machine_id):
    body = {"user_session_id": "p1", "player_name": "Ada", "player_gender": "female"}
    return foil.post(f"/npc/api/v1/sdk/chat/{npc_id}/init-session?machine_id={machine_id}", body, format="json")


def test_an_unpublished_machine_becomes_playable_once_published(foil, owner):
    body = scenario_body()
    body["machines"][0]["is_published"] = False
    npc = npcs_services.npc_save(app=owner.api_key.app, body=body)
    gate = npc.machines.get(key="gate")

    refused = _init(foil, npc.id, gate.id)
    assert refused.status_code == 403, refused.content
    assert refused.json()["error"]["code"] == "npc_machine_not_available"
    assert "not published" in refused.json()["error"]["message"]
    assert not gate.playthroughs.exists()

    npcs_services.machine_publish(machine_id=gate.id, published=True)
    started = _init(foil, npc.id, gate.id)
    assert started.status_code == 200, started.content
    assert started.json()["machine_id"] == gate.id and gate.playthroughs.get().current_state.key == "start"

    npcs_services.machine_publish(machine_id=gate.id, published=False)
    assert _init(foil, npc.id, gate.id).status_code == 403
