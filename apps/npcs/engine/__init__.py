"""The NPC scenario engine: pure Python, no Django, no I/O.

A machine (``MachineGraph``: states, transitions with deterministic matchers, outgoing links) and a
playthrough (``PlaythroughState``) are frozen dataclasses; one player message is one step::

    evaluation = matchers_evaluate(machine, state.state_key, text, state.variables) or model_evaluation
    result = playthrough_step(machine, state, evaluation)   # new state, score, outcome, unlocks

``machines_available`` says which machines a player may play; ``states_unreachable`` and
``states_dead_end`` check a machine when it is authored. The decision semantics are documented in
``apps.npcs.engine.step``.
"""

from apps.npcs.engine.checks import states_dead_end, states_unreachable
from apps.npcs.engine.errors import EvaluationInvalid, PlaythroughFinished
from apps.npcs.engine.graph import (
    COMPARISONS,
    DECISIONS,
    LINK_CONDITIONS,
    MATCHER_TYPES,
    OUTCOMES,
    SCORING_MODES,
    TERMINAL_OUTCOMES,
    TERMINALS,
    Decision,
    KeywordsMatcher,
    LinkSpec,
    MachineGraph,
    Matcher,
    Outcome,
    RegexMatcher,
    StateSpec,
    TransitionSpec,
    VariableMatcher,
)
from apps.npcs.engine.matchers import matcher_matches, matchers_evaluate, regex_compile
from apps.npcs.engine.step import (
    Evaluation,
    MachineResult,
    PlaythroughState,
    StepResult,
    link_holds,
    links_unlocked,
    machines_available,
    playthrough_initial,
    playthrough_step,
)

__all__ = [
    "COMPARISONS",
    "DECISIONS",
    "LINK_CONDITIONS",
    "MATCHER_TYPES",
    "OUTCOMES",
    "SCORING_MODES",
    "TERMINALS",
    "TERMINAL_OUTCOMES",
    "Decision",
    "Evaluation",
    "EvaluationInvalid",
    "KeywordsMatcher",
    "LinkSpec",
    "MachineGraph",
    "MachineResult",
    "Matcher",
    "Outcome",
    "PlaythroughFinished",
    "PlaythroughState",
    "RegexMatcher",
    "StateSpec",
    "StepResult",
    "TransitionSpec",
    "VariableMatcher",
    "link_holds",
    "links_unlocked",
    "machines_available",
    "matcher_matches",
    "matchers_evaluate",
    "playthrough_initial",
    "playthrough_step",
    "regex_compile",
    "states_dead_end",
    "states_unreachable",
]
