"""Two apps playing one public persona under the same ``user_session_id`` have two players: each app's init-session,
messages (plain and streamed), reset, machines, history and memory are its own, another app's player with that id
looks absent, and an erasure takes only the erasing app's player."""

import pytest

from apps.api.npc.tests.conftest import foil_client
from apps.conversations.models import Event, Memory, Session
from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import services as npcs_services
from apps.npcs.models import Playthrough

pytestmark = pytest.mark.django_db

BASE = "/npc/api/v1/sdk/chat"
PLAYER = "player-1"
QUERY = {"user_session_id": PLAYER}


@pytest.fixture
def public(owner):
    return npcs_services.npc_save(app=owner.api_key.app, body=scenario_body(name="Host", is_public=True))


@pytest.fixture
def apps_clients(owner, other):
    return foil_client(owner.raw_key), foil_client(other.raw_key)


def _open(client, npc_id: str, name: str) -> dict:
    body = {**QUERY, "player_name": name, "player_gender": "female"}
    response = client.post(f"{BASE}/{npc_id}/init-session", body, format="json")
    assert response.status_code == 200, response.content[:300]
    return response.json()


def _say(client, npc_id: str, text: str) -> dict:
    response = client.post(f"{BASE}/{npc_id}/message", {**QUERY, "message": text}, format="json")
    assert response.status_code == 200, response.content[:300]
    return response.json()


def _players_rows(app) -> dict[str, list]:
    """Everything of the app's players: their playthroughs, sessions, events and memories, as stored."""
    sessions = Session.objects.filter(app=app).order_by("id")
    return {
        "playthroughs": list(Playthrough.objects.filter(app=app).order_by("id").values()),
        "sessions": list(sessions.values()),
        "events": list(Event.objects.filter(session__in=sessions).order_by("session_id", "cursor").values()),
        "memories": list(Memory.objects.filter(app=app).order_by("id").values()),
    }


def _user_texts(client, npc_id: str) -> list[str]:
    history = client.get(f"{BASE}/{npc_id}/history", QUERY)
    assert history.status_code == 200
    return [message["content"] for message in history.json()["messages"] if message["role"] == "user"]


def test_another_apps_player_with_the_same_id_is_another_player(
    owner, other, public, apps_clients, django_capture_on_commit_callbacks
):
    mine, theirs = apps_clients
    with django_capture_on_commit_callbacks(execute=True):
        opened = _open(mine, public.id, "Ada")
        _say(mine, public.id, "Hello, gatekeeper")
    before = _players_rows(owner.api_key.app)

    # Before B's player starts, B sees no player of that id: A's player, its history and state look absent.
    for route in ("session", "history"):
        response = theirs.get(f"{BASE}/{public.id}/{route}", QUERY)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "npc_session_not_found")
    assert theirs.post(f"{BASE}/{public.id}/reset?user_session_id={PLAYER}").status_code == 404
    machines = theirs.get(f"{BASE}/{public.id}/machines", QUERY).json()
    assert [(m["machine_key"], m["has_session"]) for m in machines] == [("gate", False)]

    with django_capture_on_commit_callbacks(execute=True):
        theirs_opened = _open(theirs, public.id, "Eve")
        redirected = _say(theirs, public.id, "What about the weather?")
        streamed = theirs.post(f"{BASE}/{public.id}/message/stream", {**QUERY, "message": "Hello there"}, format="json")
        assert streamed.status_code == 200 and b"".join(streamed.streaming_content)

    assert _players_rows(owner.api_key.app) == before  # nothing of A's player moved, restarted or was logged
    assert theirs_opened["session_id"] != opened["session_id"]
    assert (redirected["decision"], redirected["current_state"]) == ("redirect", "start")
    mine_now = mine.get(f"{BASE}/{public.id}/session", QUERY).json()
    assert (mine_now["current_state"], mine_now["score"], mine_now["player_name"]) == ("trust", 2, "Ada")
    assert mine_now["session_id"] == opened["session_id"]
    theirs_now = theirs.get(f"{BASE}/{public.id}/session", QUERY).json()
    assert (theirs_now["current_state"], theirs_now["score"], theirs_now["player_name"]) == ("trust", 2, "Eve")
    assert theirs_now["session_id"] == theirs_opened["session_id"]
    assert _user_texts(mine, public.id) == ["Hello, gatekeeper"]
    assert _user_texts(theirs, public.id) == ["What about the weather?", "Hello there"]

    with django_capture_on_commit_callbacks(execute=True):
        assert theirs.post(f"{BASE}/{public.id}/reset?user_session_id={PLAYER}").status_code == 200
    assert _players_rows(owner.api_key.app) == before
    assert theirs.get(f"{BASE}/{public.id}/session", QUERY).json()["current_state"] == "start"

    players = Playthrough.objects.filter(npc=public, player_session_id=PLAYER)
    assert sorted(players.values_list("app_id", flat=True)) == sorted([owner.api_key.app_id, other.api_key.app_id])
    theirs_sessions = Session.objects.filter(playthrough__app=other.api_key.app)
    assert set(theirs_sessions.values_list("app_id", flat=True)) == {other.api_key.app_id}
    memories = Memory.objects.filter(external_user_ref=PLAYER).values_list("app_id", flat=True)
    assert sorted(memories) == sorted([owner.api_key.app_id, other.api_key.app_id])  # one each, never shared


def test_a_finished_machine_unlocks_the_next_for_that_apps_player_only(
    public, apps_clients, django_capture_on_commit_callbacks
):
    mine, theirs = apps_clients
    with django_capture_on_commit_callbacks(execute=True):
        _open(mine, public.id, "Ada")
        _say(mine, public.id, "Hello, gatekeeper")
        won = _say(mine, public.id, "The password is swordfish")
    assert (won["outcome"], won["machine_completed"]) == ("ACCEPT", True)
    assert [m["machine_key"] for m in mine.get(f"{BASE}/{public.id}/machines", QUERY).json()] == ["gate", "vault"]

    vault = public.machines.get(key="vault")
    refused = theirs.post(
        f"{BASE}/{public.id}/init-session?machine_id={vault.id}",
        {**QUERY, "player_name": "Eve", "player_gender": "female"},
        format="json",
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "npc_machine_not_available"
    assert [m["machine_key"] for m in theirs.get(f"{BASE}/{public.id}/machines", QUERY).json()] == ["gate"]


def test_an_erasure_takes_the_erasing_apps_player_only(
    owner, other, api, other_api, public, apps_clients, django_capture_on_commit_callbacks
):
    mine, theirs = apps_clients
    with django_capture_on_commit_callbacks(execute=True):
        _open(mine, public.id, "Ada")
        _open(theirs, public.id, "Eve")
    theirs_before = _players_rows(other.api_key.app)

    with django_capture_on_commit_callbacks(execute=True):
        erased = api.delete(f"/v1/external-users/{PLAYER}")
    assert erased.status_code == 200 and erased.json()["data"]["erased"]["npc_playthroughs"] == 1
    assert _players_rows(other.api_key.app) == theirs_before
    assert not Playthrough.objects.filter(app=owner.api_key.app).exists()

    # B's player in A's public persona is B's end-user: B's erasure takes it.
    with django_capture_on_commit_callbacks(execute=True):
        erased = other_api.delete(f"/v1/external-users/{PLAYER}")
    assert erased.json()["data"]["erased"]["npc_playthroughs"] == 1
    assert not Playthrough.objects.exists()
