"""Persona management: creator/save, list, read, /full, delete; either key header; other apps' personas."""

import copy

import pytest

from apps.conversations.tests.npc_scenario import scenario_body

pytestmark = pytest.mark.django_db


def _save(client, body, persona_id=None):
    url = "/npc/api/v1/creator/save" + (f"?persona_id={persona_id}" if persona_id else "")
    return client.post(url, body, format="json")


def test_save_read_export_update_and_delete(foil, api):
    created = _save(foil, scenario_body())
    assert created.status_code == 201, created.content
    persona_id = created.json()["persona_id"]
    assert created.json()["persona"]["name"] == "Gatekeeper"

    detail = api.get(f"/npc/api/v1/personas/{persona_id}")  # Authorization: Bearer works too
    assert detail.status_code == 200
    assert detail.json()["identity_prompt"] == "Gruff but fair." and detail.json()["is_public"] is False

    full = foil.get(f"/npc/api/v1/personas/{persona_id}/full").json()
    assert [m["key"] for m in full["machines"]] == ["gate", "vault"]
    assert full["machine_links"][0]["to_machine_key"] == "vault"

    changed = copy.deepcopy(scenario_body(name="Warden"))
    updated = _save(foil, changed, persona_id)
    assert updated.status_code == 200 and updated.json()["persona_id"] == persona_id
    assert [p["name"] for p in foil.get("/npc/api/v1/personas").json()] == ["Warden"]

    assert foil.delete(f"/npc/api/v1/personas/{persona_id}").json() == {"persona_id": persona_id, "deleted": True}
    assert foil.get(f"/npc/api/v1/personas/{persona_id}").status_code == 404


def test_an_invalid_scenario_is_422_naming_the_problem(foil):
    body = scenario_body()
    body["machines"][0]["transitions"][0]["to_state_key"] = "nowhere"
    response = _save(foil, body)
    assert response.status_code == 422
    assert "nowhere" in response.json()["error"]["message"]


def test_other_apps_public_personas_are_read_not_changed_and_private_ones_absent(foil, other_foil):
    public = _save(other_foil, scenario_body(name="Open", is_public=True)).json()["persona_id"]
    private = _save(other_foil, scenario_body(name="Closed")).json()["persona_id"]

    assert foil.get(f"/npc/api/v1/personas/{public}").status_code == 200
    assert foil.delete(f"/npc/api/v1/personas/{public}").status_code == 403
    assert _save(foil, scenario_body(), public).status_code == 403
    assert foil.get(f"/npc/api/v1/personas/{private}").status_code == 404
    assert foil.delete(f"/npc/api/v1/personas/{private}").status_code == 404
    names = [p["name"] for p in foil.get("/npc/api/v1/personas?public_only=true").json()]
    assert names == ["Open"]
    assert foil.get("/npc/api/v1/personas?my_personas=true").json() == []
    assert foil.get("/npc/api/v1/personas?limit=101").status_code == 400
