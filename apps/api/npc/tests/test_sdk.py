"""The NPC surface driven by Foil Engine's own Python client (``foilengine``) against a live server: what
an integrator's game does, end to end, offline (every transition has keyword matchers)."""

import pytest
from foilengine import FoilEngineClient
from foilengine.errors import AuthenticationError, BadRequestError, ForbiddenError, NotFoundError

from apps.accounts import services as accounts_services
from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import services as npcs_services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def npc(owner):
    return npcs_services.npc_save(app=owner.api_key.app, body=scenario_body())


@pytest.fixture
def client(live_server, owner):
    with FoilEngineClient(api_key=owner.raw_key, base_url=f"{live_server.url}/npc", max_retries=0) as sdk:
        yield sdk


def test_a_player_talks_through_the_gate_to_a_win_and_back(client, npc):
    (persona,) = client.personas.list()
    assert (persona.id, persona.name, persona.description) == (npc.id, "Gatekeeper", "Guards the old gate.")

    opened = client.chat.init_session(npc.id, "player-1", "Ada", "female")
    assert opened.user_session_id == "player-1" and opened.persona_name == "Gatekeeper"
    assert opened.player_name == "Ada" and "Ada" in opened.message

    stay = client.chat.send_message(npc.id, "Nice weather today", "player-1")
    assert (stay.decision, stay.current_state, stay.score, stay.redirect_count) == ("redirect", "start", 0, 1)
    assert stay.outcome is None and not stay.machine_completed and stay.message

    passed = client.chat.send_message(npc.id, "Hello, gatekeeper", "player-1")
    assert (passed.decision, passed.current_state, passed.score) == ("pass", "trust", 2)
    assert passed.session_id == opened.session_id

    won = client.chat.send_message(npc.id, "The password is swordfish", "player-1")
    assert (won.decision, won.current_state, won.score, won.outcome) == ("pass", "won", 7, "ACCEPT")
    assert won.machine_completed
    assert [(m.machine_key, m.name) for m in won.unlocked_machines] == [("vault", "The vault")]

    status = client.chat.get_session(npc.id, "player-1")
    assert (status.current_state, status.score, status.outcome, status.player_name) == ("won", 7, "ACCEPT", "Ada")
    assert status.session_id == opened.session_id

    history = client.chat.get_history(npc.id, "player-1")
    assert [(m.role, m.state_key_at_time, m.decision) for m in history.messages] == [
        ("assistant", "start", None),
        ("user", "start", None),
        ("assistant", "start", "redirect"),
        ("user", "start", None),
        ("assistant", "trust", "pass"),
        ("user", "trust", None),
        ("assistant", "won", "pass"),
    ]
    assert history.messages[1].content == "Nice weather today"
    assert [m.score_at_time for m in history.messages if m.role == "assistant"] == [0, 0, 2, 7]

    machines = {m.machine_key: m for m in client.machines.list(npc.id, "player-1")}
    assert machines["gate"].has_session and machines["gate"].session_outcome == "ACCEPT"
    assert not machines["gate"].is_linked
    assert not machines["vault"].has_session and machines["vault"].is_linked

    with pytest.raises(BadRequestError):  # the playthrough has ended
        client.chat.send_message(npc.id, "hello?", "player-1")

    reset = client.chat.reset(npc.id, "player-1")
    assert reset.session_id != opened.session_id and reset.message
    again = client.chat.get_session(npc.id, "player-1")
    assert (again.current_state, again.score, again.outcome) == ("start", 0, None)
    assert [m.role for m in client.chat.get_history(npc.id, "player-1").messages] == ["assistant"]


def test_the_unlocked_machine_can_be_played_by_id(client, npc):
    client.chat.init_session(npc.id, "player-2", "Bo", "male")
    client.chat.send_message(npc.id, "hello", "player-2")
    won = client.chat.send_message(npc.id, "password", "player-2")
    vault = won.unlocked_machines[0].machine_id

    client.chat.init_session(npc.id, "player-2", "Bo", "male", machine_id=vault)
    inside = client.chat.send_message(npc.id, "open sesame", "player-2", machine_id=vault)
    assert (inside.current_state, inside.outcome, inside.machine_completed) == ("inside", "ACCEPT", True)


def test_errors_reach_the_sdk_as_its_exceptions(live_server, client, npc, other):
    bad = FoilEngineClient(api_key="drm_nope_nope", base_url=f"{live_server.url}/npc", max_retries=0)
    with bad, pytest.raises(AuthenticationError):
        bad.personas.list()

    theirs = npcs_services.npc_save(app=other.api_key.app, body=scenario_body(name="Theirs"))
    with pytest.raises(NotFoundError):
        client.chat.init_session(theirs.id, "player-1", "Ada", "female")

    with pytest.raises(NotFoundError):  # no session yet
        client.chat.get_session(npc.id, "nobody")

    client.chat.init_session(npc.id, "player-1", "Ada", "female")
    with pytest.raises(BadRequestError):
        client.chat.send_message(npc.id, "x" * 5000, "player-1")

    locked = client.machines.list(npc.id, "player-1")
    assert [m.machine_key for m in locked] == ["gate"]  # the vault is locked until the gate is won
    body = scenario_body()
    body["machines"][0]["is_published"] = False
    unpublished = npcs_services.npc_save(app=npc.app, body=body)
    with pytest.raises(ForbiddenError):
        client.chat.init_session(unpublished.id, "player-1", "Ada", "female")


def test_public_personas_of_other_apps_can_be_played(live_server, npc, other):
    theirs = npcs_services.npc_save(app=other.api_key.app, body=scenario_body(name="Public", is_public=True))
    key = accounts_services.api_key_create(app=npc.app, name="second")
    with FoilEngineClient(api_key=key.raw_key, base_url=f"{live_server.url}/npc", max_retries=0) as sdk:
        opened = sdk.chat.init_session(theirs.id, "player-9", "Cy", "other")
        assert opened.persona_name == "Public"
        assert sdk.chat.send_message(theirs.id, "hello", "player-9").current_state == "trust"
