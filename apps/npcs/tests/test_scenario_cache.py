"""The turn's cached scenario reads (``selectors.SCENARIOS``): every write path that changes a scenario bumps
the NPC's generation, so the next read after it (a turn's matchers, its step, its reply state) sees the
change. Each test warms the cache first, so it fails if its write path forgot the bump. A turn reads its
playthrough and machine rows afresh (the cached read is also kept on the row for the rest of that turn), so
each read after a write goes through a freshly read row here too."""

import json

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.urls import reverse

from apps.npcs import selectors, services
from apps.npcs.admin import _ScenarioChecked
from apps.npcs.models import NPC, Machine, MachineLink, Playthrough, State, Transition, Variable
from apps.npcs.tests.test_admin import _machine_post
from apps.npcs.tests.test_services import _body
from apps.npcs.types import Evaluation

pytestmark = pytest.mark.django_db


@pytest.fixture
def npc(owner):
    return services.npc_save(app=owner.api_key.app, body=_body())


def _haggle(npc) -> Machine:
    return Machine.objects.get(npc=npc, key="haggle")


def _playthrough(owner, npc, player: str = "p1") -> Playthrough:
    """The playthrough as a turn reads it (started first if need be)."""
    if not Playthrough.objects.filter(npc=npc, player_session_id=player).exists():
        services.playthrough_start(app=owner.api_key.app, npc_id=npc.id, player_session_id=player)
    return selectors.playthrough_get(app=owner.api_key.app, npc_id=npc.id, player_session_id=player)


def test_a_warm_read_comes_from_the_cache(owner, npc, django_assert_num_queries):
    playthrough = _playthrough(owner, npc)
    assert selectors.playthrough_matchers_evaluate(playthrough=playthrough, text="hello").decision == "pass"
    with django_assert_num_queries(0):
        assert selectors.playthrough_matchers_evaluate(playthrough=playthrough, text="hi").decision == "pass"
        preview = selectors.playthrough_step_preview(playthrough=playthrough, evaluation=Evaluation("pass"))
        assert selectors.machine_state_get(machine=playthrough.machine, key=preview.state.state_key).key == "offer"


def test_creator_save_is_seen_by_the_next_turns_matchers_and_step(owner, npc):
    playthrough = _playthrough(owner, npc)
    assert selectors.playthrough_matchers_evaluate(playthrough=playthrough, text="howdy") is None  # warm
    body = _body()
    body["machines"][0]["transitions"][0]["matchers"][0]["keywords"] = ["howdy"]
    body["machines"][0]["transitions"][0]["score_delta"] = 7
    services.npc_save(app=owner.api_key.app, body=body, npc_id=npc.id)

    playthrough = _playthrough(owner, npc)
    evaluation = selectors.playthrough_matchers_evaluate(playthrough=playthrough, text="howdy")
    assert evaluation is not None and evaluation.decision == "pass"
    step = services.playthrough_step(app=owner.api_key.app, playthrough_id=playthrough.id, evaluation=evaluation)
    assert (step.playthrough.current_state.key, step.playthrough.score) == ("offer", 7)


def test_a_state_renamed_by_creator_save_is_the_reply_state_next(owner, npc):
    playthrough = _playthrough(owner, npc)
    assert selectors.machine_state_get(machine=playthrough.machine, key="offer").system_prompt == ""  # warm
    body = _body()
    body["machines"][0]["states"][1]["system_prompt"] = "Name a price."
    services.npc_save(app=owner.api_key.app, body=body, npc_id=npc.id)

    machine = _playthrough(owner, npc).machine
    assert selectors.machine_state_get(machine=machine, key="offer").system_prompt == "Name a price."


def test_state_create_and_its_default_transitions_are_seen(owner, npc):
    machine = _haggle(npc)
    assert "bargain" not in selectors.machine_graph(machine=machine).states  # warm
    services.state_create(machine=_haggle(npc), key="bargain", name="Bargain")

    machine = _haggle(npc)
    graph = selectors.machine_graph(machine=machine)
    assert "bargain" in graph.states
    assert {t.decision: t.to_state for t in graph.outgoing("bargain")} == {
        "pass": "deal", "reject": "gone", "kick_out": "bargain"
    }  # fmt: skip
    assert selectors.machine_state_get(machine=machine, key="bargain").name == "Bargain"


def test_default_transitions_added_alone_are_seen(owner, npc):
    machine = _haggle(npc)
    state = State.objects.create(machine=machine, key="aside", position=9)  # as the admin's inline saves it
    selectors.SCENARIOS.bump(scope=npc.id)
    assert selectors.machine_graph(machine=machine).outgoing("aside") == ()  # warm, without transitions
    services.state_transitions_default(state=state)

    assert len(selectors.machine_graph(machine=_haggle(npc)).outgoing("aside")) == 3


def test_npc_delete_leaves_nothing_cached_to_serve(owner, npc):
    warm, in_flight = _haggle(npc), _haggle(npc)  # the second: a turn that read its row before the delete
    assert selectors.machine_graph(machine=warm).states
    services.npc_delete(app=owner.api_key.app, npc_id=npc.id)

    assert selectors.machine_graph(machine=in_flight).states == {}  # read again: the rows are gone


def test_an_admin_machine_save_is_seen_by_the_next_turn(admin_client, owner, npc):
    playthrough = _playthrough(owner, npc)
    machine = playthrough.machine
    assert selectors.playthrough_matchers_evaluate(playthrough=playthrough, text="howdy") is None  # warm
    data = _machine_post(machine)  # a matcher edited, nothing added (a new state's defaults bump on their own)
    greet_pass = machine.transitions.get(from_state__key="greet", decision_type="pass")
    index = next(i for i in range(len(data)) if data.get(f"transitions-{i}-id") == greet_pass.id)
    data[f"transitions-{index}-matchers"] = json.dumps([{"type": "keywords", "keywords": ["howdy"]}])

    response = admin_client.post(reverse("admin:npcs_machine_change", args=[quote(machine.id)]), data, follow=True)
    assert "Nothing was saved" not in response.content.decode(), response.content.decode()[:3000]
    playthrough = _playthrough(owner, npc)

    evaluation = selectors.playthrough_matchers_evaluate(playthrough=playthrough, text="howdy")
    assert evaluation is not None and evaluation.decision == "pass"


def test_an_admin_npc_save_of_its_machines_is_seen(admin_client, owner, npc):
    machines = list(npc.machines.order_by("position", "created_at"))
    assert selectors.machine_graph(machine=machines[0]).scoring_mode == "scoring"  # warm
    data = {"app": npc.app_id, "character": npc.character_id}
    data |= {"machines-TOTAL_FORMS": len(machines), "machines-INITIAL_FORMS": len(machines)}
    data |= {"machines-MIN_NUM_FORMS": 0, "machines-MAX_NUM_FORMS": 1000}
    for index, machine in enumerate(machines):
        data |= {
            f"machines-{index}-id": machine.id, f"machines-{index}-npc": npc.id,
            f"machines-{index}-position": machine.position, f"machines-{index}-key": machine.key,
            f"machines-{index}-name": machine.name, f"machines-{index}-is_published": "on",
            f"machines-{index}-scoring_mode": "pass_fail",
        }  # fmt: skip
        if machine.is_entry:
            data[f"machines-{index}-is_entry"] = "on"

    response = admin_client.post(reverse("admin:npcs_npc_change", args=[quote(npc.id)]), data, follow=True)
    assert "Nothing was saved" not in response.content.decode(), response.content.decode()[:3000]

    # a turn reads its machine row afresh (with its playthrough); the graph is the cached part
    assert selectors.machine_graph(machine=Machine.objects.get(pk=machines[0].pk)).scoring_mode == "pass_fail"


def test_admin_deletes_leave_nothing_cached_to_serve(admin_client, owner, npc):
    vault, in_flight = (Machine.objects.get(npc=npc, key="vault") for _ in range(2))
    assert selectors.machine_graph(machine=vault).states  # warm
    response = admin_client.post(reverse("admin:npcs_machine_delete", args=[quote(vault.id)]), {"post": "yes"})
    assert response.status_code == 302
    assert selectors.machine_graph(machine=in_flight).states == {}

    haggle, in_flight = _haggle(npc), _haggle(npc)
    assert selectors.machine_graph(machine=haggle).states  # warm
    changelist = reverse("admin:npcs_npc_changelist")
    response = admin_client.post(changelist, {"action": "delete_selected", "_selected_action": [npc.id], "post": "yes"})
    assert response.status_code == 302
    assert not NPC.objects.filter(pk=npc.id).exists()
    assert selectors.machine_graph(machine=in_flight).states == {}


def test_every_admin_of_a_scenario_model_checks_and_bumps():
    """A scenario admin added later must derive from _ScenarioChecked, where the check and the bump live."""
    scenario_models = {NPC, Machine, State, Transition, MachineLink, Variable}
    registered = {model: model_admin for model, model_admin in admin.site._registry.items() if model in scenario_models}
    assert registered, "no scenario admin registered"
    assert all(isinstance(model_admin, _ScenarioChecked) for model_admin in registered.values()), registered
