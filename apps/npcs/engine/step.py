"""The transition step: (machine, playthrough state, evaluation) -> StepResult, and the unlock rules.

The decision table (products.md, Foil Engine):

=====================  ==============================================  ===================
decision               moves                                           ends
=====================  ==============================================  ===================
pass                   to the transition's target                      when that is terminal
redirect               stays; the state's redirect count goes up       no
reject, ``scoring``    penalty (the reject's delta), then to the       when that is terminal
                       target of the state's pass transition
reject, ``pass_fail``  to the reject's target if it is terminal        yes: REJECT
kick_out               stays                                           yes: KICK_OUT
=====================  ==============================================  ===================

* ``follow_up`` asks a clarifying question instead of deciding: nothing moves, nothing is counted.
* Redirect counts are kept per state for the whole playthrough (coming back to a state does not refill it).
  The redirect that goes past the state's ``redirect_limit`` is replaced by the state's reject transition;
  if that reject does not take the player out of the state, the playthrough ends with REJECT, so a redirect
  loop always ends.
* Reaching a ``win`` terminal is ACCEPT, a ``lose`` terminal REJECT. A playthrough with an outcome is never
  stepped again (PlaythroughFinished): a terminal state is never left.
* The score moves only by the ``score_delta`` of the transitions in ``StepResult.transitions_taken``; the
  pass transition a scoring-mode reject follows lends its target, not its reward.
* On completion, the links leaving the machine whose condition holds are the unlocks, and the output
  variables the evaluation extracted (``Evaluation.variables``) join the playthrough's variables. Before
  completion they are ignored: variables change only when a machine completes.
* An evaluation may name a transition (``transition_key``) or only a decision, which takes the state's first
  transition of that decision by priority. Only ``pass`` needs a transition; a redirect, reject or kick_out
  the state has no transition for still applies, with no score change.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from apps.npcs.engine.errors import EvaluationInvalid, PlaythroughFinished
from apps.npcs.engine.graph import (
    DECISIONS,
    TERMINAL_OUTCOMES,
    Decision,
    LinkSpec,
    MachineGraph,
    Outcome,
    TransitionSpec,
)


@dataclass(frozen=True)
class PlaythroughState:
    """Where one player is in one machine. The mappings are never mutated: each step makes new ones."""

    state_key: str
    score: int = 0
    outcome: Outcome | None = None
    redirect_counts: Mapping[str, int] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    def redirect_count(self, state_key: str | None = None) -> int:
        return self.redirect_counts.get(state_key or self.state_key, 0)


@dataclass(frozen=True)
class Evaluation:
    """What the evaluator (matchers, the model, a fallback) made of the player's message."""

    decision: Decision | None = None
    transition_key: str | None = None
    follow_up: bool = False
    reason: str = ""
    source: Literal["matcher", "model", "fallback"] = "model"
    variables: Mapping[str, Any] = field(default_factory=dict)  # output variables, kept if the machine completes


@dataclass(frozen=True)
class StepResult:
    """The playthrough after one message. ``decision`` is the decision applied (a redirect past its limit is
    applied as ``reject``; None for a follow-up); ``requested`` is the one the evaluation made."""

    state: PlaythroughState
    decision: Decision | None
    requested: Decision | None
    follow_up: bool
    transitions_taken: tuple[TransitionSpec, ...] = ()
    unlocks: tuple[LinkSpec, ...] = ()

    @property
    def score_delta(self) -> int:
        return sum(transition.score_delta for transition in self.transitions_taken)

    @property
    def machine_completed(self) -> bool:
        return self.state.outcome is not None

    @property
    def redirect_count(self) -> int:
        """Redirects used so far in the state the player is now in."""
        return self.state.redirect_count()


def playthrough_initial(machine: MachineGraph, variables: Mapping[str, Any] | None = None) -> PlaythroughState:
    """A fresh playthrough at the machine's initial state, carrying ``variables`` from earlier machines."""
    return PlaythroughState(state_key=machine.initial_state, variables=dict(variables or {}))


def playthrough_step(machine: MachineGraph, state: PlaythroughState, evaluation: Evaluation) -> StepResult:
    """Apply ``evaluation`` to ``state``. Raises PlaythroughFinished after an outcome (or in a terminal state)
    and EvaluationInvalid for a transition the state does not have or a pass with no transition."""
    current = machine.states.get(state.state_key)
    if state.finished or current is None or current.terminal is not None:
        raise PlaythroughFinished("This playthrough has ended." if current else "The playthrough's state is gone.")
    if evaluation.follow_up:
        return StepResult(state, decision=None, requested=evaluation.decision, follow_up=True)
    transition, decision = _resolve(machine, state.state_key, evaluation)
    if decision == "pass":
        assert transition is not None  # _resolve refuses a pass without one
        result = _finish(machine, state, "pass", decision, (transition,), transition.to_state)
    elif decision == "redirect":
        result = _redirect(machine, state, transition)
    elif decision == "reject":
        result = _reject(machine, state, transition, requested=decision)
    else:
        taken = (transition,) if transition else ()
        result = _finish(machine, state, "kick_out", decision, taken, state.state_key, outcome="KICK_OUT")
    if result.machine_completed and evaluation.variables:
        result = replace(result, state=replace(result.state, variables={**state.variables, **evaluation.variables}))
    return result


def _resolve(machine: MachineGraph, state_key: str, evaluation: Evaluation) -> tuple[TransitionSpec | None, Decision]:
    if evaluation.transition_key is not None:
        transition = next((t for t in machine.outgoing(state_key) if t.key == evaluation.transition_key), None)
        if transition is None:
            raise EvaluationInvalid(
                {"transition_key": [f"State '{state_key}' has no transition '{evaluation.transition_key}'."]}
            )
        if evaluation.decision is not None and evaluation.decision != transition.decision:
            problem = f"Transition '{transition.key}' is a {transition.decision}, not a {evaluation.decision}."
            raise EvaluationInvalid({"decision": [problem]})
        return transition, transition.decision
    if evaluation.decision not in DECISIONS:
        raise EvaluationInvalid({"decision": [f"Must be one of {', '.join(DECISIONS)}."]})
    transition = machine.first(state_key, evaluation.decision)
    if transition is None and evaluation.decision == "pass":
        raise EvaluationInvalid({"decision": [f"State '{state_key}' has no pass transition."]})
    return transition, evaluation.decision


def _redirect(machine: MachineGraph, state: PlaythroughState, transition: TransitionSpec | None) -> StepResult:
    key = state.state_key
    count = state.redirect_count(key) + 1
    counted = replace(state, redirect_counts={**state.redirect_counts, key: count})
    if count > machine.states[key].redirect_limit:
        return _reject(machine, counted, machine.first(key, "reject"), requested="redirect", past_limit=True)
    taken = (transition,) if transition else ()
    return _finish(machine, counted, "redirect", "redirect", taken, key)


def _reject(
    machine: MachineGraph,
    state: PlaythroughState,
    transition: TransitionSpec | None,
    *,
    requested: Decision,
    past_limit: bool = False,
) -> StepResult:
    key = state.state_key
    taken = (transition,) if transition else ()
    if machine.scoring_mode == "scoring":
        follow = machine.first(key, "pass") or transition
        target = follow.to_state if follow is not None else key
        if past_limit and target == key:
            # Nowhere to go from here: ending is what stops the loop.
            return _finish(machine, state, "reject", requested, taken, key, outcome="REJECT")
        return _finish(machine, state, "reject", requested, taken, target)
    target = transition.to_state if transition and machine.states[transition.to_state].terminal else key
    return _finish(machine, state, "reject", requested, taken, target, outcome="REJECT")


def _finish(
    machine: MachineGraph,
    state: PlaythroughState,
    decision: Decision,
    requested: Decision,
    taken: tuple[TransitionSpec, ...],
    target: str,
    *,
    outcome: Outcome | None = None,
) -> StepResult:
    terminal = machine.states[target].terminal
    if outcome is None and terminal is not None:
        outcome = TERMINAL_OUTCOMES[terminal]
    score = state.score + sum(t.score_delta for t in taken)
    new = replace(state, state_key=target, score=score, outcome=outcome)
    unlocks = links_unlocked(machine.links, outcome, score) if outcome is not None else ()
    return StepResult(
        new, decision=decision, requested=requested, follow_up=False, transitions_taken=taken, unlocks=unlocks
    )


def link_holds(link: LinkSpec, outcome: Outcome | None, score: int) -> bool:
    """Whether a completed machine's ``outcome`` and ``score`` satisfy ``link``; never before completion."""
    if outcome is None:
        return False
    if link.condition == "outcome":
        return str(link.value).upper() == outcome
    if link.condition == "score_gte":
        return score >= _bound(link.value)
    if link.condition == "score_lte":
        return score <= _bound(link.value)
    return link.condition == "always"


def _bound(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")  # compares false both ways: a link with no number never unlocks


def links_unlocked(links: Iterable[LinkSpec], outcome: Outcome | None, score: int) -> tuple[LinkSpec, ...]:
    """The links among ``links`` that a machine finishing with ``outcome`` and ``score`` unlocks."""
    return tuple(link for link in links if link_holds(link, outcome, score))


@dataclass(frozen=True, slots=True)
class MachineResult:
    """A player's latest result in one machine (outcome None while unfinished)."""

    outcome: Outcome | None
    score: int = 0


def machines_available(
    machines: Iterable[tuple[str, bool]],
    links: Iterable[LinkSpec],
    results: Mapping[str, MachineResult],
) -> list[str]:
    """The keys of ``machines`` ((key, is_entry) pairs, order kept) one player may play: entry machines,
    machines no link leads to, and machines a link from a finished machine unlocks."""
    incoming: dict[str, list[LinkSpec]] = {}
    for link in links:
        incoming.setdefault(link.to_machine, []).append(link)
    available = []
    for key, is_entry in machines:
        if is_entry or key not in incoming:
            available.append(key)
            continue
        for link in incoming[key]:
            result = results.get(link.from_machine)
            if result is not None and link_holds(link, result.outcome, result.score):
                available.append(key)
                break
    return available
