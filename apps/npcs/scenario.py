"""An NPC's scenario set as one JSON body (``creator/save`` in, ``/full`` out): its rules beyond the declared
shape, the rows it becomes, the body the rows give back, and the engine's graph of a machine.

Checks that every body passes: keys unique within their parent, transitions and links naming keys that
exist, no transition out of a terminal state, link values that fit their condition, matchers that compile
(the shape). Checks a **published** machine passes as well, since players can reach it: at least one
initial state, no initial state that is terminal, at least one terminal state, every state reachable from
an initial one, and no dead end (a non-terminal state that cannot reach a terminal one). Drafts may be
incomplete, which is what lets a writer build a machine in the admin a few states at a time.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.utils import timezone

from apps.core.shapes import Problems, shape_validate
from apps.npcs import engine
from apps.npcs.errors import ScenarioInvalid
from apps.npcs.models import NPC, Machine, MachineLink, Playthrough, State, Transition, Variable
from apps.npcs.types import NPC_SCENARIO

_CHARACTER_FIELDS = ("display_name", "profile", "character_direction")


def _duplicates(items: Sequence[Mapping[str, Any]], path: str, problems: Problems, field: str = "key") -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item[field] in seen:
            problems.setdefault(f"{path}[{index}].{field}", []).append(f"Duplicate key '{item[field]}'.")
        seen.add(item[field])


def _matcher(data: Mapping[str, Any]) -> engine.Matcher:
    if data["type"] == "keywords":
        return engine.KeywordsMatcher(tuple(data["keywords"]))
    if data["type"] == "regex":
        return engine.RegexMatcher(data["pattern"])
    return engine.VariableMatcher(data["key"], data["op"], data.get("value"))


def graph_build(
    key: str,
    scoring_mode: str,
    states: Iterable[Mapping[str, Any]],
    transitions: Iterable[Mapping[str, Any]],
    links: Iterable[engine.LinkSpec] = (),
) -> engine.MachineGraph:
    """The engine's graph from state and transition bodies (``terminal`` blank or None: not terminal)."""
    return engine.MachineGraph(
        key=key,
        scoring_mode=scoring_mode,  # type: ignore[arg-type]
        states={
            s["key"]: engine.StateSpec(s["key"], s["is_initial"], s["terminal"] or None, s["redirect_limit"])
            for s in states
        },
        transitions=tuple(
            engine.TransitionSpec(
                key=str(t.get("id") or index),
                from_state=t["from_state_key"],
                to_state=t["to_state_key"],
                decision=t["decision_type"],
                score_delta=t["score_delta"],
                priority=t["priority"],
                matchers=tuple(_matcher(m) for m in t["matchers"]),
                condition=t.get("condition") or "",
            )
            for index, t in enumerate(transitions)
        ),
        links=tuple(links),
    )


def _machine_problems(machine: Mapping[str, Any], path: str, problems: Problems) -> None:
    states = machine["states"]
    _duplicates(states, f"{path}.states", problems)
    _duplicates(machine["variables"], f"{path}.variables", problems)
    by_key = {state["key"]: state for state in states}
    for index, transition in enumerate(machine["transitions"]):
        for end in ("from_state_key", "to_state_key"):
            if transition[end] not in by_key:
                problems.setdefault(f"{path}.transitions[{index}].{end}", []).append(
                    f"No state '{transition[end]}' in this machine."
                )
        source = by_key.get(transition["from_state_key"])
        if source is not None and source["terminal"]:
            problems.setdefault(f"{path}.transitions[{index}].from_state_key", []).append(
                "A terminal state has no outgoing transitions."
            )
    if not machine["is_published"] or any(name.startswith(f"{path}.") for name in problems):
        return
    initial = [state for state in states if state["is_initial"]]
    if not initial:
        problems.setdefault(f"{path}.states", []).append("A published machine needs an initial state.")
    if not any(state["terminal"] for state in states):
        problems.setdefault(f"{path}.states", []).append("A published machine needs a terminal state (win or lose).")
    index_of = {state["key"]: index for index, state in enumerate(states)}
    for state in initial:
        if state["terminal"]:
            problems.setdefault(f"{path}.states[{index_of[state['key']]}].terminal", []).append(
                "An initial state cannot be terminal."
            )
    graph = graph_build(machine["key"], machine["scoring_mode"], states, machine["transitions"])
    if initial:
        for key in engine.states_unreachable(graph):
            problems.setdefault(f"{path}.states[{index_of[key]}]", []).append(
                f"State '{key}' cannot be reached from an initial state."
            )
    if any(state["terminal"] for state in states):
        for key in engine.states_dead_end(graph):
            problems.setdefault(f"{path}.states[{index_of[key]}]", []).append(
                f"State '{key}' is a dead end: no path from it reaches a terminal state."
            )


def _link_problems(links: Sequence[Mapping[str, Any]], machine_keys: set[str], problems: Problems) -> None:
    for index, link in enumerate(links):
        path = f"machine_links[{index}]"
        for end in ("from_machine_key", "to_machine_key"):
            if link[end] not in machine_keys:
                problems.setdefault(f"{path}.{end}", []).append(f"No machine '{link[end]}'.")
        if link["from_machine_key"] == link["to_machine_key"]:
            problems.setdefault(f"{path}.to_machine_key", []).append("A machine cannot unlock itself.")
        kind, value = link["condition"]["type"], link["condition"].get("value")
        if kind == "outcome" and value not in engine.OUTCOMES:
            problems.setdefault(f"{path}.condition.value", []).append(f"Must be one of {', '.join(engine.OUTCOMES)}.")
        if kind in ("score_gte", "score_lte") and (isinstance(value, bool) or not isinstance(value, int)):
            problems.setdefault(f"{path}.condition.value", []).append("Must be a whole number (the score bound).")
        if kind == "always" and value is not None:
            problems.setdefault(f"{path}.condition.value", []).append("Must be null for 'always'.")


def scenario_validate(body: Any) -> dict[str, Any]:
    """``body`` checked against ``NPC_SCENARIO`` (ValidationFailed) and the graph rules (ScenarioInvalid),
    normalised (defaults filled in). Every problem is named by its path (``machines[0].states[2]``)."""
    data = shape_validate(NPC_SCENARIO, body)
    problems: Problems = {}
    _duplicates(data["machines"], "machines", problems)
    for index, machine in enumerate(data["machines"]):
        _machine_problems(machine, f"machines[{index}]", problems)
    _link_problems(data["machine_links"], {machine["key"] for machine in data["machines"]}, problems)
    if problems:
        raise ScenarioInvalid(problems)
    return data


def character_content(persona: Mapping[str, Any]) -> dict[str, Any]:
    """The character fields an NPC's persona is kept in (a null removes the field in a merge patch)."""
    return {
        "display_name": persona["name"],
        "profile": {"visible_bio": persona["description"] or None},
        "character_direction": persona["identity_prompt"] or None,
    }


def persona_of(npc: NPC) -> dict[str, Any]:
    """The persona part of ``/full`` from the NPC's character (its current version, else its draft)."""
    version = npc.character.current_version
    content = version.content if version is not None else npc.character.draft
    direction = content.get("character_direction")
    return {
        "id": npc.id,
        "name": content.get("display_name") or npc.character.display_name,
        "description": (content.get("profile") or {}).get("visible_bio") or "",
        "identity_prompt": direction if isinstance(direction, str) else "",
        "is_public": npc.is_public,
    }


def _states_write(machine: Machine, states: Sequence[Mapping[str, Any]]) -> dict[str, State]:
    existing = {state.key: state for state in machine.states.all()}
    kept: dict[str, State] = {}
    for position, body in enumerate(states):
        values = {name: body[name] for name in ("name", "is_initial", "system_prompt", "evaluation_criteria")}
        values |= {
            "terminal": body["terminal"] or "",
            "follow_up_condition": body["follow_up_condition"],
            "redirect_limit": body["redirect_limit"],
            "position": position,
        }
        state = existing.get(body["key"])
        if state is None:
            state = State.objects.create(machine=machine, key=body["key"], **values)
        else:
            for name, value in values.items():
                setattr(state, name, value)
            state.save()
        kept[state.key] = state
    gone = [state.pk for key, state in existing.items() if key not in kept]
    if gone:
        _playthroughs_restart(machine, gone, kept)
        Transition.objects.filter(machine=machine).delete()  # they may point at the states about to go
        State.objects.filter(pk__in=gone).delete()
    return kept


def _playthroughs_restart(machine: Machine, state_ids: list[str], kept: Mapping[str, State]) -> None:
    """Players standing in a state that is gone start the machine again (or lose a draft's playthrough)."""
    stranded = Playthrough.objects.filter(machine=machine, current_state_id__in=state_ids)
    initial = next((state for state in kept.values() if state.is_initial and not state.terminal), None)
    if initial is None:
        stranded.delete()
        return
    # updated_at too: a turn's step applies only to a playthrough whose updated_at is still the one it read
    stranded.update(current_state=initial, score=0, outcome="", redirect_counts={}, updated_at=timezone.now())


def _machine_write(npc: NPC, body: Mapping[str, Any], position: int, existing: Machine | None) -> Machine:
    values = {name: body[name] for name in ("name", "description", "objective", "scoring_mode", "is_entry")}
    values |= {"is_published": body["is_published"], "position": position}
    if existing is None:
        machine = Machine.objects.create(npc=npc, key=body["key"], **values)
    else:
        machine = existing
        for name, value in values.items():
            setattr(machine, name, value)
        machine.save()
    states = _states_write(machine, body["states"])
    Transition.objects.filter(machine=machine).delete()
    Transition.objects.bulk_create(
        Transition(
            machine=machine,
            from_state=states[item["from_state_key"]],
            to_state=states[item["to_state_key"]],
            decision_type=item["decision_type"],
            score_delta=item["score_delta"],
            priority=item["priority"],
            condition=item["condition"],
            matchers=item["matchers"],
            position=index,
        )
        for index, item in enumerate(body["transitions"])
    )
    Variable.objects.filter(machine=machine).delete()
    Variable.objects.bulk_create(
        Variable(machine=machine, key=item["key"], extraction_prompt=item["extraction_prompt"], position=index)
        for index, item in enumerate(body["variables"])
    )
    return machine


def scenario_write(npc: NPC, data: Mapping[str, Any]) -> None:
    """Make the NPC's machines, states, transitions, variables and links those of validated ``data``.

    Machines and states are matched by key, so their ids and the playthroughs in them survive an edit;
    transitions, variables and links are replaced. A machine that is gone takes its playthroughs with it.
    """
    existing = {machine.key: machine for machine in npc.machines.all()}
    machines = {
        body["key"]: _machine_write(npc, body, position, existing.get(body["key"]))
        for position, body in enumerate(data["machines"])
    }
    gone = Machine.objects.filter(npc=npc).exclude(key__in=list(machines))
    Playthrough.objects.filter(machine__in=gone).delete()  # a state is protected while a player stands in it
    gone.delete()
    MachineLink.objects.filter(npc=npc).delete()
    MachineLink.objects.bulk_create(
        MachineLink(
            npc=npc,
            from_machine=machines[link["from_machine_key"]],
            to_machine=machines[link["to_machine_key"]],
            condition_type=link["condition"]["type"],
            condition_value=link["condition"].get("value"),
            auto_advance=link["auto_advance"],
            position=index,
        )
        for index, link in enumerate(data["machine_links"])
    )


def state_body(state: State) -> dict[str, Any]:
    return {
        "id": state.id,
        "key": state.key,
        "name": state.name,
        "is_initial": state.is_initial,
        "terminal": state.terminal or None,
        "system_prompt": state.system_prompt,
        "evaluation_criteria": state.evaluation_criteria,
        "follow_up_condition": state.follow_up_condition,
        "redirect_limit": state.redirect_limit,
    }


def transition_body(transition: Transition, state_keys: Mapping[str, str]) -> dict[str, Any]:
    return {
        "id": transition.id,
        "from_state_key": state_keys[transition.from_state_id],
        "to_state_key": state_keys[transition.to_state_id],
        "decision_type": transition.decision_type,
        "score_delta": transition.score_delta,
        "priority": transition.priority,
        "condition": transition.condition,
        "matchers": transition.matchers,
    }


def scenario_export(npc: NPC) -> dict[str, Any]:
    """The ``/full`` body: the save body's shape, in the authored order, with ids added."""
    machines = list(Machine.objects.filter(npc=npc).order_by("position", "created_at", "id"))
    ids = [machine.id for machine in machines]
    states = list(State.objects.filter(machine_id__in=ids).order_by("position", "created_at", "id"))
    transitions = list(Transition.objects.filter(machine_id__in=ids).order_by("position", "created_at", "id"))
    variables = list(Variable.objects.filter(machine_id__in=ids).order_by("position", "created_at", "id"))
    state_keys = {state.id: state.key for state in states}
    machine_keys = {machine.id: machine.key for machine in machines}
    return {
        "persona": persona_of(npc),
        "machines": [
            {
                "id": machine.id,
                "key": machine.key,
                "name": machine.name,
                "description": machine.description,
                "objective": machine.objective,
                "scoring_mode": machine.scoring_mode,
                "is_entry": machine.is_entry,
                "is_published": machine.is_published,
                "states": [state_body(s) for s in states if s.machine_id == machine.id],
                "transitions": [transition_body(t, state_keys) for t in transitions if t.machine_id == machine.id],
                "variables": [
                    {"id": v.id, "key": v.key, "extraction_prompt": v.extraction_prompt}
                    for v in variables
                    if v.machine_id == machine.id
                ],
            }
            for machine in machines
        ],
        "machine_links": [
            {
                "id": link.id,
                "from_machine_key": machine_keys[link.from_machine_id],
                "to_machine_key": machine_keys[link.to_machine_id],
                "condition": {"type": link.condition_type, "value": link.condition_value},
                "auto_advance": link.auto_advance,
            }
            for link in MachineLink.objects.filter(npc=npc).order_by("position", "created_at", "id")
        ],
    }


def link_spec(link: MachineLink, machine_keys: Mapping[str, str]) -> engine.LinkSpec:
    return engine.LinkSpec(
        machine_keys[link.from_machine_id],
        machine_keys[link.to_machine_id],
        link.condition_type,  # type: ignore[arg-type]
        link.condition_value,
        link.auto_advance,
    )


def machine_graph_of(machine: Machine, states: Sequence[State] | None = None) -> engine.MachineGraph:
    """The engine's graph of a saved machine: its states, its transitions (keyed by id), its outgoing links.
    ``states``: the machine's state rows when the caller has read them already."""
    states = list(machine.states.all()) if states is None else states
    keys = {state.id: state.key for state in states}
    transitions = [transition_body(t, keys) for t in machine.transitions.order_by("priority", "position", "id")]
    links = MachineLink.objects.filter(from_machine=machine).select_related("to_machine").order_by("position", "id")
    machine_keys = {machine.id: machine.key} | {link.to_machine_id: link.to_machine.key for link in links}
    return graph_build(
        machine.key,
        machine.scoring_mode,
        [state_body(state) for state in states],
        transitions,
        [link_spec(link, machine_keys) for link in links],
    )
