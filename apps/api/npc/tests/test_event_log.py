"""An NPC playthrough is an ordinary conversation session: the native API reads its event log (the same
cursor as every session) and the app's webhook endpoints receive its events, state changes and completions
included."""

import time

import pytest

from apps.api.npc.tests.conftest import foil_client
from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import services as npcs_services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def webhooks(settings, webhook_receiver):
    settings.EVENT_SINKS = ["conftest.RecordingSink", "apps.delivery.sinks.WebhookSink"]
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    return webhook_receiver


def test_a_playthrough_reads_as_a_session_and_reaches_the_apps_webhooks(owner, api, webhooks):
    npc = npcs_services.npc_save(app=owner.api_key.app, body=scenario_body())
    created = api.post("/v1/webhook-endpoints", {"url": webhooks.url, "secret": webhooks.secret}, format="json")
    assert created.status_code == 201, created.content
    foil = foil_client(owner.raw_key)
    chat = f"/npc/api/v1/sdk/chat/{npc.id}/"
    session_id = foil.post(
        chat + "init-session", {"user_session_id": "p1", "player_name": "Ada", "player_gender": "female"}, format="json"
    ).json()["session_id"]
    foil.post(chat + "message", {"message": "hello", "user_session_id": "p1"}, format="json")
    won = foil.post(chat + "message", {"message": "password", "user_session_id": "p1"}, format="json").json()
    assert won["outcome"] == "ACCEPT"

    log = api.get(f"/v1/sessions/{session_id}/events?since=0").json()["data"]
    events = log["events"]
    assert [e["cursor"] for e in events] == list(range(1, len(events) + 1))
    assert [e["event_type"] for e in events] == [
        "character.initiated",
        "message.created",
        "npc.state_changed",
        "message.created",
        "message.created",
        "npc.state_changed",
        "message.created",
        "npc.machine_completed",
    ]
    completed = next(e["payload"] for e in events if e["event_type"] == "npc.machine_completed")
    assert (completed["machine_key"], completed["outcome"], completed["score"]) == ("gate", "ACCEPT", 7)
    assert [m["machine_key"] for m in completed["unlocked_machines"]] == ["vault"]

    deadline = time.monotonic() + 10
    while {e["event_id"] for e in events} - set(webhooks.event_ids()):
        assert time.monotonic() < deadline, "the webhook deliveries did not all arrive"
        time.sleep(0.05)
    assert all(item.legacy_signature_ok and item.standard_signature_ok for item in webhooks.received)
