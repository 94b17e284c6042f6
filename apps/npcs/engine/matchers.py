"""Deterministic matchers: decide a transition without the model when the player's words (or the
playthrough's variables) say enough.

``matchers_evaluate`` walks the current state's transitions lowest priority first and returns the first
whose matchers match (any one of a transition's matchers is enough); ``None`` leaves the decision to the
model. Patterns are compiled once per process (``functools.lru_cache``), so a turn pays for a search only.
"""

import functools
import re
from collections.abc import Mapping
from typing import Any

from apps.npcs.engine.graph import KeywordsMatcher, MachineGraph, Matcher, RegexMatcher, TransitionSpec, VariableMatcher
from apps.npcs.engine.step import Evaluation


@functools.lru_cache(maxsize=4096)
def regex_compile(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled case-insensitively; raises ``re.error`` for a pattern that does not compile."""
    return re.compile(pattern, re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def _keywords_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    # Whole words: "no" must not match "know". Lookarounds instead of \b so that a keyword that starts or
    # ends with punctuation ("c++", "?!") still matches.
    alternatives = "|".join(re.escape(keyword.strip()) for keyword in keywords if keyword.strip())
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE) if alternatives else re.compile(r"(?!)")


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if op == "exists":
        return actual is not None and actual != ""
    if actual is None:
        return op == "ne" and expected is not None
    if op == "eq":
        return _normal(actual) == _normal(expected)
    if op == "ne":
        return _normal(actual) != _normal(expected)
    if op == "contains":
        return str(expected).casefold() in str(actual).casefold()
    number, bound = _number(actual), _number(expected)
    if number is None or bound is None:
        return False
    return {"gt": number > bound, "gte": number >= bound, "lt": number < bound, "lte": number <= bound}[op]


def _normal(value: Any) -> Any:
    """Extracted variables are model output: compare "3" with 3 and "Yes" with "yes" as equal."""
    number = _number(value)
    if number is not None:
        return number
    return str(value).strip().casefold()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def matcher_matches(matcher: Matcher, text: str, variables: Mapping[str, Any]) -> bool:
    """Whether one matcher matches the player's ``text`` and the playthrough's ``variables``."""
    if isinstance(matcher, KeywordsMatcher):
        return _keywords_pattern(matcher.keywords).search(text) is not None
    if isinstance(matcher, RegexMatcher):
        return regex_compile(matcher.pattern).search(text) is not None
    if isinstance(matcher, VariableMatcher):
        return _compare(variables.get(matcher.key), matcher.op, matcher.value)
    raise TypeError(f"Not a matcher: {matcher!r}")


def transition_matches(transition: TransitionSpec, text: str, variables: Mapping[str, Any]) -> Matcher | None:
    """The first of the transition's matchers that matches, or None."""
    return next((m for m in transition.matchers if matcher_matches(m, text, variables)), None)


def matchers_evaluate(
    machine: MachineGraph, state_key: str, text: str, variables: Mapping[str, Any] | None = None
) -> Evaluation | None:
    """The evaluation the matchers make in ``state_key`` (first matching transition by priority), or None."""
    variables = variables or {}
    for transition in machine.outgoing(state_key):
        matched = transition_matches(transition, text, variables)
        if matched is not None:
            return Evaluation(
                decision=transition.decision,
                transition_key=transition.key,
                reason=f"{type(matched).__name__.removesuffix('Matcher').lower()} matcher",
                source="matcher",
            )
    return None
