"""A machine (scenario) as the engine sees it: states, transitions with their matchers, and outgoing links.

Frozen dataclasses built from rows (``apps.npcs.selectors``) or directly in tests; nothing here touches
the database. The vocabularies (decisions, outcomes, terminals, link conditions) are the products.md words.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["pass", "redirect", "reject", "kick_out"]
Outcome = Literal["ACCEPT", "REJECT", "KICK_OUT"]
Terminal = Literal["win", "lose"]
ScoringMode = Literal["scoring", "pass_fail"]
LinkCondition = Literal["outcome", "score_gte", "score_lte", "always"]
Comparison = Literal["eq", "ne", "gt", "gte", "lt", "lte", "contains", "exists"]

DECISIONS: tuple[Decision, ...] = ("pass", "redirect", "reject", "kick_out")
OUTCOMES: tuple[Outcome, ...] = ("ACCEPT", "REJECT", "KICK_OUT")
TERMINALS: tuple[Terminal, ...] = ("win", "lose")
SCORING_MODES: tuple[ScoringMode, ...] = ("scoring", "pass_fail")
LINK_CONDITIONS: tuple[LinkCondition, ...] = ("outcome", "score_gte", "score_lte", "always")
COMPARISONS: tuple[Comparison, ...] = ("eq", "ne", "gt", "gte", "lt", "lte", "contains", "exists")
MATCHER_TYPES = ("keywords", "regex", "variable")

# What reaching a terminal state means for the playthrough.
TERMINAL_OUTCOMES: Mapping[Terminal, Outcome] = {"win": "ACCEPT", "lose": "REJECT"}


@dataclass(frozen=True, slots=True)
class KeywordsMatcher:
    """Matches when the player's message contains any of ``keywords`` as whole words, ignoring case."""

    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RegexMatcher:
    """Matches when ``pattern`` (Python syntax) is found in the player's message, ignoring case."""

    pattern: str


@dataclass(frozen=True, slots=True)
class VariableMatcher:
    """Matches when the playthrough's variable ``key`` compares to ``value`` with ``op``."""

    key: str
    op: Comparison
    value: Any = None


Matcher = KeywordsMatcher | RegexMatcher | VariableMatcher


@dataclass(frozen=True, slots=True)
class StateSpec:
    key: str
    is_initial: bool = False
    terminal: Terminal | None = None
    redirect_limit: int = 3


@dataclass(frozen=True, slots=True)
class TransitionSpec:
    """``key`` names the transition to the evaluator (the row's id; any unique text in tests)."""

    key: str
    from_state: str
    to_state: str
    decision: Decision
    score_delta: int = 0
    priority: int = 0
    matchers: tuple[Matcher, ...] = ()
    condition: str = ""  # when it applies, in words: what the model reads; the engine never does


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """A link from one machine to another, unlocked by the source machine's result."""

    from_machine: str
    to_machine: str
    condition: LinkCondition
    value: Any = None
    auto_advance: bool = False


@dataclass(frozen=True, slots=True)
class MachineGraph:
    """One machine: its states by key, its transitions, and the links that leave it (for unlocks)."""

    key: str
    scoring_mode: ScoringMode
    states: Mapping[str, StateSpec]
    transitions: tuple[TransitionSpec, ...]
    links: tuple[LinkSpec, ...] = ()
    _outgoing: Mapping[str, tuple[TransitionSpec, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        outgoing: dict[str, list[TransitionSpec]] = {key: [] for key in self.states}
        for transition in self.transitions:
            outgoing.setdefault(transition.from_state, []).append(transition)
        # Lower priority first; equal priorities keep the authored order (sorted is stable).
        ordered = {key: tuple(sorted(items, key=lambda t: t.priority)) for key, items in outgoing.items()}
        object.__setattr__(self, "_outgoing", ordered)

    @property
    def initial_state(self) -> str:
        """The first initial state (validation requires one); the first state if none is flagged."""
        for state in self.states.values():
            if state.is_initial:
                return state.key
        return next(iter(self.states))

    def outgoing(self, state_key: str) -> tuple[TransitionSpec, ...]:
        """The state's transitions, lowest priority first."""
        return self._outgoing.get(state_key, ())

    def first(self, state_key: str, decision: Decision) -> TransitionSpec | None:
        """The state's first transition of ``decision`` by priority, if any."""
        return next((t for t in self.outgoing(state_key) if t.decision == decision), None)
