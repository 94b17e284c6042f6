"""NPC services and selectors on the database: save and export round-trip, validation paths, tenant scoping,
default transitions, availability, and playthroughs started, stepped and reset."""

import copy
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.characters.models import Character
from apps.core.errors import ValidationFailed
from apps.npcs import selectors, services
from apps.npcs.errors import (
    MachineNotAvailable,
    NpcNotFound,
    NpcNotYours,
    PlaythroughFinished,
    PlaythroughMoved,
    PlaythroughNotFound,
    ScenarioInvalid,
)
from apps.npcs.models import NPC, Machine, Playthrough, State
from apps.npcs.types import Evaluation


def _body(**persona):
    return {
        "persona": {
            "name": "Mara",
            "description": "A fence in the Hollow Market.",
            "identity_prompt": "Sly, warm.",
            **persona,
        },
        "machines": [
            {
                "key": "haggle",
                "name": "Haggle",
                "objective": "Get a fair price.",
                "scoring_mode": "scoring",
                "is_entry": True,
                "is_published": True,
                "states": [
                    {
                        "key": "greet",
                        "name": "Greeting",
                        "is_initial": True,
                        "system_prompt": "Size them up.",
                        "redirect_limit": 1,
                    },
                    {"key": "offer", "name": "Offer", "evaluation_criteria": "Is the offer fair?"},
                    {"key": "deal", "terminal": "win"},
                    {"key": "gone", "terminal": "lose"},
                ],
                "transitions": [
                    {
                        "from_state_key": "greet",
                        "to_state_key": "offer",
                        "decision_type": "pass",
                        "score_delta": 2,
                        "priority": 1,
                        "condition": "They say hello.",
                        "matchers": [{"type": "keywords", "keywords": ["hello", "hi"]}],
                    },
                    {"from_state_key": "greet", "to_state_key": "greet", "decision_type": "redirect", "priority": 2},
                    {
                        "from_state_key": "greet",
                        "to_state_key": "gone",
                        "decision_type": "reject",
                        "score_delta": -1,
                        "priority": 3,
                        "matchers": [{"type": "regex", "pattern": r"\bscram\b"}],
                    },
                    {"from_state_key": "offer", "to_state_key": "deal", "decision_type": "pass", "score_delta": 5},
                    {
                        "from_state_key": "offer",
                        "to_state_key": "gone",
                        "decision_type": "kick_out",
                        "matchers": [{"type": "variable", "key": "thief", "op": "eq", "value": True}],
                    },
                ],
                "variables": [{"key": "price", "extraction_prompt": "The price agreed, in gold."}],
            },
            {
                "key": "vault",
                "name": "The vault",
                "scoring_mode": "pass_fail",
                "is_published": True,
                "states": [
                    {"key": "door", "is_initial": True},
                    {"key": "inside", "terminal": "win"},
                    {"key": "out", "terminal": "lose"},
                ],
                "transitions": [
                    {"from_state_key": "door", "to_state_key": "inside", "decision_type": "pass"},
                    {"from_state_key": "door", "to_state_key": "out", "decision_type": "reject"},
                ],
            },
        ],
        "machine_links": [
            {
                "from_machine_key": "haggle",
                "to_machine_key": "vault",
                "condition": {"type": "outcome", "value": "ACCEPT"},
                "auto_advance": True,
            }
        ],
    }


def _without_ids(value):
    if isinstance(value, dict):
        return {key: _without_ids(item) for key, item in value.items() if key != "id"}
    if isinstance(value, list):
        return [_without_ids(item) for item in value]
    return value


def _expected(body):
    """A body as /full gives it back: defaults filled in."""
    state_defaults = {
        "name": "",
        "is_initial": False,
        "terminal": None,
        "system_prompt": "",
        "evaluation_criteria": "",
        "follow_up_condition": "",
        "redirect_limit": 3,
    }
    transition_defaults = {"score_delta": 0, "priority": 0, "condition": "", "matchers": []}
    machine_defaults = {
        "description": "",
        "objective": "",
        "scoring_mode": "scoring",
        "is_entry": False,
        "is_published": False,
        "transitions": [],
        "variables": [],
    }
    expected = copy.deepcopy(body)
    expected["persona"] = {"is_public": False, **expected["persona"]}
    for index, machine in enumerate(expected["machines"]):
        machine = expected["machines"][index] = {**machine_defaults, **machine}
        machine["states"] = [{**state_defaults, **s} for s in machine["states"]]
        machine["transitions"] = [{**transition_defaults, **t} for t in machine["transitions"]]
        for transition in machine["transitions"]:
            for matcher in transition["matchers"]:
                if matcher["type"] == "variable":
                    matcher.setdefault("op", "eq")
    return expected


def test_save_export_round_trip_on_another_app(owner, other):
    app = owner.api_key.app
    npc = services.npc_save(app=app, body=_body())
    exported = selectors.npc_full(app=app, npc_id=npc.id)
    assert exported["persona"]["id"] == npc.id and exported["machines"][0]["states"][0]["id"].startswith("nst_")
    assert _without_ids(exported) == _expected(_body())
    copy_npc = services.npc_save(app=other.api_key.app, body=exported)
    again = selectors.npc_full(app=other.api_key.app, npc_id=copy_npc.id)
    assert _without_ids(again) == _without_ids(exported)
    character = Character.objects.get(npc=npc)
    assert character.display_name == "Mara" and character.current_version.content["character_direction"] == "Sly, warm."


def test_update_keeps_machines_and_playthroughs_by_key(owner):
    app = owner.api_key.app
    npc = services.npc_save(app=app, body=_body())
    machine_id = Machine.objects.get(npc=npc, key="haggle").id
    playthrough = services.playthrough_start(app=app, npc_id=npc.id, player_session_id="p1", player_name="Alex")
    body = _body(name="Mara the Fence", description="")
    body["machines"][0]["states"][1]["key"] = "counter"  # "offer" goes: the player in "greet" stays
    for transition in body["machines"][0]["transitions"]:
        for end in ("from_state_key", "to_state_key"):
            if transition[end] == "offer":
                transition[end] = "counter"
    body["machines"].pop()
    body["machine_links"] = []
    services.npc_save(app=app, body=body, npc_id=npc.id)
    exported = selectors.npc_full(app=app, npc_id=npc.id)
    assert exported["machines"][0]["id"] == machine_id and [m["key"] for m in exported["machines"]] == ["haggle"]
    assert exported["persona"]["name"] == "Mara the Fence" and exported["persona"]["description"] == ""
    assert _without_ids(exported) == _expected(body)
    playthrough.refresh_from_db()
    assert playthrough.current_state.key == "greet"
    assert npc.character.versions.count() == 2


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda b: b["machines"][0]["states"].append({"key": "greet"}), "machines[0].states[4].key"),
        (
            lambda b: b["machines"][0]["transitions"][0].update(to_state_key="nowhere"),
            "machines[0].transitions[0].to_state_key",
        ),
        (
            lambda b: b["machines"][0]["transitions"][0]["matchers"].append({"type": "regex", "pattern": "("}),
            "machines[0].transitions[0].matchers[1].pattern",
        ),
        (
            lambda b: b["machines"][0]["transitions"][0]["matchers"].append({"type": "sound"}),
            "machines[0].transitions[0].matchers[1].type",
        ),
        (lambda b: b["machines"][0]["states"].append({"key": "island"}), "machines[0].states[4]"),
        (lambda b: [s.update(terminal=None) for s in b["machines"][0]["states"]], "machines[0].states"),
        (
            lambda b: b["machines"][0]["transitions"].append(
                {"from_state_key": "deal", "to_state_key": "greet", "decision_type": "pass"}
            ),
            "machines[0].transitions[5].from_state_key",
        ),
        (lambda b: b["machine_links"][0]["condition"].update(value="WIN"), "machine_links[0].condition.value"),
        (lambda b: b["machine_links"][0].update(to_machine_key="ghost"), "machine_links[0].to_machine_key"),
        (lambda b: b["persona"].update(mood="grim"), "persona.mood"),
        (lambda b: b.update(extra=1), "extra"),
    ],
)
def test_bad_bodies_name_their_fields(owner, change, path):
    body = _body()
    change(body)
    with pytest.raises(ValidationFailed) as raised:
        services.npc_save(app=owner.api_key.app, body=body)
    assert path in raised.value.fields, raised.value.fields
    assert not NPC.objects.exists()


def test_graph_rules_apply_to_published_machines_only(owner):
    body = _body()
    body["machines"][0]["is_published"] = False
    body["machines"][0]["states"].append({"key": "island"})
    services.npc_save(app=owner.api_key.app, body=body)
    body["machines"][0]["is_published"] = True
    with pytest.raises(ScenarioInvalid) as raised:
        services.npc_save(app=owner.api_key.app, body=body)
    assert raised.value.fields["machines[0].states[4]"] == [
        "State 'island' cannot be reached from an initial state.",
        "State 'island' is a dead end: no path from it reaches a terminal state.",
    ]


def test_tenants(owner, other):
    mine, theirs = owner.api_key.app, other.api_key.app
    private = services.npc_save(app=mine, body=_body())
    public = services.npc_save(app=mine, body=_body(is_public=True))
    with pytest.raises(NpcNotFound):
        selectors.npc_full(app=theirs, npc_id=private.id)
    with pytest.raises(NpcNotFound):
        services.npc_save(app=theirs, body=_body(), npc_id=private.id)
    with pytest.raises(NpcNotFound):
        services.playthrough_start(app=theirs, npc_id=private.id, player_session_id="p")
    assert selectors.npc_full(app=theirs, npc_id=public.id)["persona"]["is_public"] is True
    assert [n.id for n in selectors.npc_list(app=theirs)] == [public.id]
    assert [n.id for n in selectors.npc_list(app=theirs, mine_only=True)] == []
    assert {n.id for n in selectors.npc_list(app=mine)} == {private.id, public.id}
    with pytest.raises(NpcNotYours):
        services.npc_save(app=theirs, body=_body(), npc_id=public.id)
    with pytest.raises(NpcNotYours):
        services.npc_delete(app=theirs, npc_id=public.id)
    services.playthrough_start(app=theirs, npc_id=public.id, player_session_id="p")  # public: playable
    services.npc_delete(app=mine, npc_id=public.id)
    assert not NPC.objects.filter(pk=public.id).exists() and not Playthrough.objects.exists()
    assert Character.objects.filter(slug=public.id).exists()  # characters have no delete yet


def test_a_new_state_gets_default_transitions(owner):
    npc = services.npc_save(app=owner.api_key.app, body=_body())
    machine = Machine.objects.get(npc=npc, key="haggle")
    state = services.state_create(machine=machine, key="bargain", name="Bargain")
    made = {t.decision_type: t.to_state.key for t in state.outgoing.all()}
    assert made == {"pass": "deal", "reject": "gone", "kick_out": "bargain"}
    assert services.state_transitions_default(state=State.objects.get(machine=machine, key="deal")) == []


def test_a_playthrough_to_its_end_unlocks_the_next_machine(owner):
    app = owner.api_key.app
    npc = services.npc_save(app=app, body=_body())
    assert [m.key for m in selectors.machines_available(app=app, npc_id=npc.id, player_session_id="p1")] == ["haggle"]
    with pytest.raises(MachineNotAvailable):
        services.playthrough_start(
            app=app, npc_id=npc.id, player_session_id="p1", machine_id=Machine.objects.get(key="vault").id
        )
    playthrough = services.playthrough_start(
        app=app, npc_id=npc.id, player_session_id="p1", player_name="Alex", player_gender="non-binary"
    )
    assert (playthrough.machine.key, playthrough.current_state.key) == ("haggle", "greet")

    evaluation = selectors.playthrough_matchers_evaluate(playthrough=playthrough, text="Hello there!")
    assert evaluation.decision == "pass" and evaluation.source == "matcher"
    seen = selectors.playthrough_state(playthrough=playthrough)
    step = services.playthrough_step(app=app, playthrough_id=playthrough.id, evaluation=evaluation, expected=seen)
    assert (step.playthrough.current_state.key, step.playthrough.score, step.unlocked) == ("offer", 2, ())
    with pytest.raises(PlaythroughMoved):
        services.playthrough_step(app=app, playthrough_id=playthrough.id, evaluation=evaluation, expected=seen)
    step = services.playthrough_step(app=app, playthrough_id=playthrough.id, evaluation=Evaluation("pass"))
    assert (step.playthrough.current_state.key, step.playthrough.score, step.playthrough.outcome) == (
        "deal",
        7,
        "ACCEPT",
    )
    vault = Machine.objects.get(key="vault")
    assert [(u.machine_id, u.machine_key, u.name, u.is_auto_advance) for u in step.unlocked] == [
        (vault.id, "vault", "The vault", True)
    ]
    with pytest.raises(PlaythroughFinished):
        services.playthrough_step(app=app, playthrough_id=playthrough.id, evaluation=Evaluation("pass"))
    assert [m.key for m in selectors.machines_available(app=app, npc_id=npc.id, player_session_id="p1")] == [
        "haggle",
        "vault",
    ]
    assert [m.key for m in selectors.machines_available(app=app, npc_id=npc.id, player_session_id="p2")] == ["haggle"]
    Playthrough.objects.filter(pk=playthrough.id).update(variables={"price": 40})
    second = services.playthrough_start(app=app, npc_id=npc.id, player_session_id="p1", machine_id=vault.id)
    assert second.variables == {"price": 40}

    # init-session again with the same player session id starts over
    again = services.playthrough_start(app=app, npc_id=npc.id, player_session_id="p1", player_name="Sam")
    assert again.id == playthrough.id and (again.current_state.key, again.score, again.outcome) == ("greet", 0, "")
    assert again.player_name == "Sam"


def test_redirects_are_counted_and_reset_clears_them(owner, other):
    app = owner.api_key.app
    npc = services.npc_save(app=app, body=_body())
    playthrough = services.playthrough_start(app=app, npc_id=npc.id, player_session_id="p1")
    step = services.playthrough_step(app=app, playthrough_id=playthrough.id, evaluation=Evaluation("redirect"))
    assert (step.result.redirect_count, step.playthrough.redirect_counts) == (1, {"greet": 1})
    step = services.playthrough_step(app=app, playthrough_id=playthrough.id, evaluation=Evaluation("redirect"))
    assert (step.result.decision, step.playthrough.current_state.key, step.playthrough.score) == ("reject", "offer", -1)
    with pytest.raises(PlaythroughNotFound):
        services.playthrough_step(app=other.api_key.app, playthrough_id=playthrough.id, evaluation=Evaluation("pass"))
    with pytest.raises(PlaythroughNotFound):
        services.playthrough_reset(app=app, npc_id=npc.id, player_session_id="nobody")
    [reset] = services.playthrough_reset(app=app, npc_id=npc.id, player_session_id="p1")
    assert (reset.current_state.key, reset.score, reset.redirect_counts, reset.outcome) == ("greet", 0, {}, "")
    assert selectors.playthrough_get(app=app, npc_id=npc.id, player_session_id="p1").id == playthrough.id


@pytest.mark.django_db(transaction=True)
def test_concurrent_steps_on_one_playthrough_all_apply(owner):
    """The row lock serialises steps: concurrent redirects are all counted, none lost."""
    app = owner.api_key.app
    body = _body()
    body["machines"][0]["states"][0]["redirect_limit"] = 100
    npc = services.npc_save(app=app, body=body)
    playthrough = services.playthrough_start(app=app, npc_id=npc.id, player_session_id="p1")

    def one(_: int) -> int:
        try:
            step = services.playthrough_step(app=app, playthrough_id=playthrough.id, evaluation=Evaluation("redirect"))
            return step.result.redirect_count
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = sorted(pool.map(one, range(12)))
    assert counts == list(range(1, 13))
    assert Playthrough.objects.get(pk=playthrough.id).redirect_counts == {"greet": 12}


def test_a_step_on_a_read_playthrough_applies_only_while_the_row_is_as_read(owner):
    """The turn's step is a compare-and-set on the row it read: any write since (another turn, an admin save
    that changed nothing of the state) makes it PlaythroughMoved and leaves the row as that write left it."""
    from django.db import transaction

    app = owner.api_key.app
    npc = services.npc_save(app=app, body=_body())
    services.playthrough_start(app=app, npc_id=npc.id, player_session_id="p1", player_name="A", player_gender="f")
    read = selectors.playthrough_get(app=app, npc_id=npc.id, player_session_id="p1")
    seen = selectors.playthrough_state(playthrough=read)
    Playthrough.objects.get(pk=read.id).save()  # e.g. an admin save: nothing of the state changes
    with pytest.raises(PlaythroughMoved), transaction.atomic():
        services.playthrough_step(
            app=app, playthrough_id=read.id, evaluation=Evaluation("pass"), expected=seen, playthrough=read
        )
    assert Playthrough.objects.get(pk=read.id).current_state.key == "greet"

    fresh = selectors.playthrough_get(app=app, npc_id=npc.id, player_session_id="p1")
    with transaction.atomic():
        step = services.playthrough_step(
            app=app,
            playthrough_id=fresh.id,
            evaluation=Evaluation("pass"),
            expected=selectors.playthrough_state(playthrough=fresh),
            playthrough=fresh,
        )
    stored = Playthrough.objects.get(pk=fresh.id)
    assert (stored.current_state.key, stored.score) == (step.playthrough.current_state.key, 2) == ("offer", 2)
    assert stored.updated_at == step.playthrough.updated_at and stored.last_message_at is not None
