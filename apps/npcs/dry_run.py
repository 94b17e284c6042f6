"""A dry run of a machine, for writers: play a list of player lines from the initial state and see the path
taken (state, decision, score and what decided each step) before any player does.

Nothing is written: the playthrough lives in memory (the engine's ``playthrough_initial`` and
``playthrough_step``), so no Playthrough, no conversation session and no usage record is made, and an
unpublished machine can be tried, which is the point (try it, then publish it). A line the matchers decide
costs nothing; any other line asks the character's model for the evaluation with the same prompt a player's
turn uses (``prompts.evaluation_messages``, read back by ``evaluation_parse``), so the run shows what players
would get. Those calls are **not metered**: a dry run is the writers' tool in the admin, with no app end-user
to charge, and it is bounded by ``MAX_LINES``. There is no reply call (the dry run shows decisions, not the
NPC's words) and no separate extraction call: variables are shown when the evaluation extracted them.

A model error ends the run at that line (an error row); the lines after it, like the lines after the machine
ended, are listed as not played.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from apps.core.errors import ApplicationError
from apps.llm import selectors as llm_selectors
from apps.llm import services as llm_services
from apps.llm.types import ChatMessage, ModelSpec
from apps.npcs import engine, prompts, selectors
from apps.npcs.engine.matchers import transition_matches
from apps.npcs.errors import MachineNotAvailable

if TYPE_CHECKING:
    from apps.npcs.models import NPC, Machine

MAX_LINES = 40


@dataclass(frozen=True)
class DryRunStep:
    """One player line and what it did. ``played`` is False for a line after the end (or after an error);
    ``source`` is ``matcher``, ``model`` or ``fallback`` (the model answered with no usable transition)."""

    line: str
    played: bool
    state_before: str = ""
    state_after: str = ""
    decision: str = ""  # applied: a redirect past its limit shows as the reject it became
    requested: str = ""
    follow_up: bool = False
    transition: str = ""  # "from -> to" of the transitions taken
    score_delta: int = 0
    score: int = 0
    outcome: str = ""
    redirect_count: int = 0
    source: str = ""
    decided_by: str = ""
    variables: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def landed_elsewhere(self) -> bool:
        """The player ended up where no transition taken points (a scoring-mode reject follows the pass)."""
        return (
            self.played
            and self.state_after != self.state_before
            and not self.transition.endswith(f"-> {self.state_after}")
        )


@dataclass(frozen=True)
class DryRun:
    steps: tuple[DryRunStep, ...]
    final: engine.PlaythroughState
    model_calls: int

    @property
    def visited(self) -> list[str]:
        """The states the run passed through, in order, starting with the initial one."""
        keys = [self.steps[0].state_before] if self.steps and self.steps[0].played else [self.final.state_key]
        for step in self.steps:
            if step.played and step.state_after:
                keys.append(step.state_after)
        return list(dict.fromkeys(keys))


def dry_run_lines(text: str) -> list[str]:
    """The player lines in a pasted block: one a line, blank lines skipped, surrounding spaces trimmed."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def matcher_describe(matcher: engine.Matcher) -> str:
    """A matcher as a writer reads it: ``keywords: hello, hi``, ``regex: \\bscram\\b``, ``variable: thief eq 1``."""
    if isinstance(matcher, engine.KeywordsMatcher):
        return "keywords: " + ", ".join(matcher.keywords)
    if isinstance(matcher, engine.RegexMatcher):
        return f"regex: {matcher.pattern}"
    return f"variable: {matcher.key} {matcher.op} {matcher.value!r}"


def _decided_by(graph: engine.MachineGraph, state_key: str, evaluation: engine.Evaluation, text: str, variables) -> str:
    if evaluation.source == "matcher":
        transition = next(t for t in graph.outgoing(state_key) if t.key == evaluation.transition_key)
        matched = transition_matches(transition, text, variables)
        return matcher_describe(matched) if matched is not None else evaluation.reason
    if evaluation.source == "model":
        return evaluation.reason or "(the model gave no reason)"
    return evaluation.reason


def machine_dry_run(*, machine: Machine, lines: Sequence[str], player_name: str = "") -> DryRun:
    """Play ``lines`` through ``machine`` from its initial state, in memory (see the module's docstring).

    Reads the machine through the selectors' cached scenario reads (what a player's turn reads), so a warm
    run makes no query; makes at most one model call a line, for the lines no matcher decides. A model error
    does not raise: its step shows it and the run stops there. Raises MachineNotAvailable when the machine
    has no initial state to start from (a draft may not have one yet).
    """
    graph = selectors.machine_graph(machine=machine)
    start = next((s for s in graph.states.values() if s.is_initial and s.terminal is None), None)
    if start is None:
        raise MachineNotAvailable(f"Machine '{machine.key}' has no initial state to start from.")
    outputs = selectors.machine_outputs(machine=machine)
    npc = machine.npc
    state = replace(engine.playthrough_initial(graph), state_key=start.key)
    history: list[ChatMessage] = []
    steps: list[DryRunStep] = []
    spec: ModelSpec | None = None
    model_calls = 0
    stopped = False
    for text in lines:
        if stopped or state.finished:
            steps.append(DryRunStep(line=text, played=False))
            continue
        before, variables = state.state_key, state.variables
        evaluation = engine.matchers_evaluate(graph, before, text, variables)
        if evaluation is None:
            messages = prompts.evaluation_messages(
                npc=npc,
                machine=machine,
                state=selectors.machine_state_get(machine=machine, key=before),
                graph=graph,
                history=history,
                text=text,
                player_name=player_name,
                variables=variables,
                outputs=outputs,
            )
            try:
                spec = spec or llm_selectors.model_spec_get(name=_character_model(npc))
                model_calls += 1
                result = llm_services.chat_json(spec=spec, messages=messages)
            except ApplicationError as error:
                steps.append(_error_step(text, state, f"The model call failed ({error.code}): {error.message}"))
                stopped = True
                continue
            evaluation = prompts.evaluation_parse(result.data, graph, before, outputs)
        try:
            step = engine.playthrough_step(graph, state, evaluation)
        except engine.EvaluationInvalid as error:
            steps.append(_error_step(text, state, f"The evaluation could not be applied: {error.message}"))
            stopped = True
            continue
        history.append(ChatMessage("user", text))
        state = step.state
        steps.append(
            DryRunStep(
                line=text,
                played=True,
                state_before=before,
                state_after=state.state_key,
                decision="follow_up" if step.follow_up else step.decision or "",
                requested=step.requested or "",
                follow_up=step.follow_up,
                transition=", ".join(f"{t.from_state} -> {t.to_state}" for t in step.transitions_taken),
                score_delta=step.score_delta,
                score=state.score,
                outcome=state.outcome or "",
                redirect_count=step.redirect_count,
                source=evaluation.source,
                decided_by=_decided_by(graph, before, evaluation, text, variables),
                variables=dict(evaluation.variables) if step.machine_completed else {},
            )
        )
    return DryRun(steps=tuple(steps), final=state, model_calls=model_calls)


def _character_model(npc: NPC) -> str | None:
    """The model the NPC's character names (its published content), None for the default."""
    version = npc.character.current_version
    return (version.content if version is not None else {}).get("model")


def _error_step(text: str, state: engine.PlaythroughState, error: str) -> DryRunStep:
    return DryRunStep(
        line=text,
        played=False,
        state_before=state.state_key,
        score=state.score,
        redirect_count=state.redirect_count(),
        error=error,
    )
