"""What the persona API (molroo's SDK 0.7) adds around the emotion step, as pure functions: the event's
``stimulus`` and the caller's ``priorEpisodes`` shaping the appraisal, goals that an event achieves or blocks,
the mask a suppressing persona keeps over what it feels, and when an episode calls for a reflection.

The models are small and stated in ``docs/integrators/emotion-api.md``; each takes plain values and returns
new ones, so the services only read and save.
"""

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from apps.personas.engine.appraisal import Appraisal
from apps.personas.engine.config import EmotionConfig
from apps.personas.engine.state import EmotionState

RECURRENCE_HALF_LIFE_MS = 7 * 24 * 3600 * 1000  # a week-old like episode counts half
RECURRENCE_SATURATION = 3.0  # this much weighted recurrence makes an event fully familiar
HABITUATION = 0.3  # how much full familiarity dulls a pleasant event's relevance
SENSITISATION = 0.3  # and sharpens an unpleasant one's
GOAL_ACHIEVED_AT = 0.6  # goal congruence from which an event bearing on a goal achieves it
GOAL_BLOCKED_AT = -0.5  # and up to which it blocks it
GOAL_UNNAMED_RELEVANCE = 0.8  # an event naming no goal bears on the first goal only when this relevant
GOAL_PRIORITY_STEP = 0.1  # a blocked goal's priority rises by this (frustration makes it pressing)
MASK_LEAK_BELOW = 0.5  # mask integrity under which the felt emotion shows through
MASK_BREAK_BELOW = 0.25  # and under which the mask breaks
REFLECTION_FROM = 0.6  # episode importance from which the persona is asked to reflect


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


# ── stimulus and prior episodes ──


def stimulus_text(message: str, stimulus: Mapping[str, Any] | None) -> str:
    """What the appraiser reads: the message and the stimulus's ``description`` (or ``text``), one per line."""
    described = ""
    if stimulus:
        described = stimulus.get("description") or stimulus.get("text") or ""
    return "\n".join(part for part in (message, described) if part)


def appraisal_intensified(appraisal: Appraisal, intensity: float | None) -> Appraisal:
    """A stimulus's ``intensity`` (0..1) scales how relevant the appraised event is: 0.5 leaves it, 1 makes it
    1.5 times as relevant, 0 halves it (clamped to 0..1)."""
    if intensity is None:
        return appraisal
    return replace(appraisal, goal_relevance=_clamp(appraisal.goal_relevance * (0.5 + intensity), 0.0, 1.0))


@dataclass(frozen=True, slots=True)
class PriorEpisode:
    """An episode the caller recalled (the SDK's ``Episode``), reduced to what recurrence needs."""

    source_entity: str
    valence: float  # the episode's goal congruence, else the valence it left the persona in
    importance: float
    timestamp_ms: float | None

    @classmethod
    def from_wire(cls, episode: Mapping[str, Any]) -> "PriorEpisode":
        appraisal = episode.get("appraisal") or {}
        snapshot = episode.get("emotionSnapshot") or {}
        valence = appraisal.get("goal_congruence")
        if valence is None:
            valence = snapshot.get("V", 0.0)
        importance = episode.get("importance")
        return cls(
            source_entity=episode.get("sourceEntity") or "",
            valence=float(valence),
            importance=0.5 if importance is None else float(importance),
            timestamp_ms=episode.get("timestamp"),
        )


def recurrence(episodes: Sequence[PriorEpisode], appraisal: Appraisal, source_entity: str, now_ms: float) -> float:
    """How familiar the event is, 0..1: the recalled episodes from the same source (any source when the event
    names none) whose valence has the event's sign, each weighted by its importance and halved every
    ``RECURRENCE_HALF_LIFE_MS`` of age, summed and saturating at ``RECURRENCE_SATURATION``."""
    sign = math.copysign(1.0, appraisal.goal_congruence) if appraisal.goal_congruence else 0.0
    if not sign:
        return 0.0
    total = 0.0
    for episode in episodes:
        if source_entity and episode.source_entity != source_entity:
            continue
        if episode.valence * sign <= 0:
            continue
        age = max(0.0, now_ms - episode.timestamp_ms) if episode.timestamp_ms is not None else 0.0
        total += episode.importance * 0.5 ** (age / RECURRENCE_HALF_LIFE_MS)
    return _clamp(total / RECURRENCE_SATURATION, 0.0, 1.0)


def appraisal_recalled(
    appraisal: Appraisal, episodes: Sequence[PriorEpisode], source_entity: str, now_ms: float
) -> tuple[Appraisal, float]:
    """The appraisal in the light of recalled episodes, and the recurrence that shaped it. A familiar event is
    expected (expectedness moves toward 1 by half the recurrence); a familiar pleasure dulls (relevance falls
    by up to ``HABITUATION``) while a familiar hurt stings more (relevance rises by up to ``SENSITISATION``)."""
    familiar = recurrence(episodes, appraisal, source_entity, now_ms)
    if not familiar:
        return appraisal, 0.0
    scale = 1 - HABITUATION * familiar if appraisal.goal_congruence > 0 else 1 + SENSITISATION * familiar
    return (
        replace(
            appraisal,
            expectedness=appraisal.expectedness + (1 - appraisal.expectedness) * 0.5 * familiar,
            goal_relevance=_clamp(appraisal.goal_relevance * scale, 0.0, 1.0),
        ),
        round(familiar, 4),
    )


# ── goals ──

_WORD = re.compile(r"\w{4,}")


def _words(text: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(text)}


def goal_ref(goal: Mapping[str, Any], index: int) -> str:
    """A goal's id, or ``goal-<n>`` (its place) for one sent without."""
    return str(goal.get("id") or f"goal-{index}")


def goals_after_event(
    goals: Sequence[Mapping[str, Any]], appraisal: Appraisal, text: str
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The persona's goals after an event, and the SDK's ``goalChanges`` (None when none changed).

    An event bears on the active goals whose content shares a word (four letters or more) with its text, or,
    naming none, on the first active goal of the highest priority when it is at least
    ``GOAL_UNNAMED_RELEVANCE`` relevant. A congruent event (``GOAL_ACHIEVED_AT``) achieves them; an
    incongruent one (``GOAL_BLOCKED_AT``) blocks them, raising their priority by ``GOAL_PRIORITY_STEP``.
    Goals marked ``mutable: false`` never change."""
    updated = [dict(goal) for goal in goals]
    active = [
        (index, goal)
        for index, goal in enumerate(updated)
        if goal.get("status", "active") == "active" and goal.get("mutable", True) is not False
    ]
    congruence = appraisal.goal_congruence
    if not active or GOAL_BLOCKED_AT < congruence < GOAL_ACHIEVED_AT:
        return updated, None
    said = _words(text)
    concerned = [(index, goal) for index, goal in active if said & _words(str(goal.get("content", "")))]
    if not concerned and appraisal.goal_relevance >= GOAL_UNNAMED_RELEVANCE:
        concerned = [max(active, key=lambda item: (item[1].get("priority") or 0.0, -item[0]))]
    if not concerned:
        return updated, None
    changes: dict[str, list] = {}
    for index, goal in concerned:
        ref = goal_ref(goal, index)
        if congruence >= GOAL_ACHIEVED_AT:
            goal["status"] = "achieved"
            changes.setdefault("achieved", []).append(ref)
            continue
        before = goal.get("priority")
        after = round(min(1.0, (before or 0.0) + GOAL_PRIORITY_STEP), 4)
        goal["priority"] = after
        changes.setdefault("blocked", []).append(ref)
        changes.setdefault("priorityChanged", []).append({"id": ref, "from": before, "to": after})
    return updated, changes


# ── the mask ──


def mask_integrity(state: EmotionState, config: EmotionConfig) -> float | None:
    """How well a suppressing persona's expression still hides what it feels, 0..1; None for a persona that
    does not suppress (no mask). The mask holds what regulation can hold (its capacity, weakened as the body
    budget runs down, as regulation itself is) and gives way linearly as the felt intensity exceeds it."""
    if config.regulation_strategy != "suppression":
        return None
    holding = _clamp(config.regulation_capacity * (0.4 + 0.6 * state.body_budget), 0.0, 0.99)
    excess = max(0.0, state.intensity - holding)
    return round(_clamp(1 - excess / (1 - holding), 0.0, 1.0), 4)


def mask_exposure(before: EmotionState, after: EmotionState, config: EmotionConfig) -> dict[str, Any] | None:
    """The SDK's ``maskExposure`` when this step made the mask give way: integrity crossing under
    ``MASK_LEAK_BELOW`` (``leak``) or ``MASK_BREAK_BELOW`` (``break``); severity is how far it fell short of
    whole. None otherwise (and for a persona with no mask)."""
    was, now = mask_integrity(before, config), mask_integrity(after, config)
    if was is None or now is None:
        return None
    for kind, below in (("break", MASK_BREAK_BELOW), ("leak", MASK_LEAK_BELOW)):
        if now < below <= was:
            return {
                "type": kind,
                "severity": round(1 - now, 4),
                "integrity": now,
                "previousIntegrity": was,
                "felt": after.discrete.primary,
            }
    return None


# ── reflection ──


def reflection_prompt(
    *, name: str, text: str, source_entity: str, feeling: str, intensity: float, importance: float
) -> dict[str, str] | None:
    """The SDK's ``reflectionPrompt`` (a system and a user message its model turns into a reflection saved to
    memory) for an episode that matters (importance ``REFLECTION_FROM`` or more); None otherwise."""
    if importance < REFLECTION_FROM:
        return None
    who = name or "the persona"
    system = (
        f"You are {who}, thinking back on something that just happened. Write a short first-person reflection "
        "(two or three sentences): what it meant to you, how it left you feeling, and what you will remember."
    )
    by = f" from {source_entity}" if source_entity else ""
    user = f"What happened{by}: {text or '(no words)'}\nHow it left you: {feeling} (intensity {intensity:.2f})."
    return {"system": system, "user": user}
