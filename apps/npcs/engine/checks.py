"""Structural checks of a machine graph, for authoring: which states cannot be reached from an initial
state, and which cannot reach any terminal state (dead ends). Edges are the transitions that move the
player (pass and reject; a redirect stays, a kick_out ends where it is)."""

from collections.abc import Iterable, Mapping

from apps.npcs.engine.graph import MachineGraph


def _edges(machine: MachineGraph) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {key: set() for key in machine.states}
    for transition in machine.transitions:
        if transition.decision in ("pass", "reject") and transition.to_state in machine.states:
            edges.setdefault(transition.from_state, set()).add(transition.to_state)
    return edges


def _reach(edges: Mapping[str, Iterable[str]], start: Iterable[str]) -> set[str]:
    seen, todo = set(), list(start)
    while todo:
        key = todo.pop()
        if key not in seen:
            seen.add(key)
            todo.extend(edges.get(key, ()))
    return seen


def states_unreachable(machine: MachineGraph) -> list[str]:
    """States no path of moving transitions leads to from an initial state, in the machine's order."""
    initial = [key for key, state in machine.states.items() if state.is_initial]
    reached = _reach(_edges(machine), initial)
    return [key for key in machine.states if key not in reached]


def states_dead_end(machine: MachineGraph) -> list[str]:
    """Non-terminal states from which no terminal state can be reached, in the machine's order."""
    reverse: dict[str, set[str]] = {key: set() for key in machine.states}
    for source, targets in _edges(machine).items():
        for target in targets:
            reverse.setdefault(target, set()).add(source)
    terminals = [key for key, state in machine.states.items() if state.terminal is not None]
    can_end = _reach(reverse, terminals)
    return [key for key, state in machine.states.items() if state.terminal is None and key not in can_end]
