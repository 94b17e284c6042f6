"""The value types other apps may import from personas: what its services and selectors return.

``PersonaTurnPreview`` is a turn's emotion before it is applied (``services.persona_turn_preview``) and
``PersonaTurn`` a turn applied (``services.persona_turn``, ``services.persona_turn_commit``). The rows
services and selectors hand out (``PersonaSession``, ``ProactiveAction``) are named here too, so that other
apps read their fields without importing personas' models; they never query or save them.
"""

from dataclasses import dataclass, field
from typing import Any, Literal

from apps.llm.types import Usage
from apps.personas.engine import STAGES, VAD, Appraisal, TurnResult
from apps.personas.models import PersonaSession, ProactiveAction, WorldEvent, WorldMember, WorldRelationship
from apps.personas.models import World as WorldRecord

__all__ = [
    "AppraisalOutcome",
    "AppraisalSource",
    "PerceiveAppraisal",
    "PersonaTick",
    "PersonaSession",
    "PersonaTurn",
    "PersonaTurnPreview",
    "ProactiveAction",
    "STAGES",
    "WorldEvent",
    "WorldInteraction",
    "WorldMember",
    "WorldRecord",
    "WorldRelationship",
]

AppraisalSource = Literal["llm", "lexicon", "lexicon_fallback", "supplied"]


@dataclass(frozen=True)
class AppraisalOutcome:
    """How a message was appraised; a ``model`` means a model call was made (its ``usage`` is to be metered)."""

    appraisal: Appraisal
    source: AppraisalSource
    model: str | None = None
    usage: Usage | None = None


@dataclass(frozen=True)
class PersonaTurnPreview:
    """A turn's emotion before it is applied: what the reply prompt needs, and what the commit applies."""

    session: PersonaSession
    """The emotion session's row as read; the commit builds on it unless a turn saved since."""
    prompt_data: dict[str, Any]
    """molroo's ``prompt_data`` for the state the message leads to."""
    appraisal: dict[str, float] | None
    """The message's six appraisal dimensions; None when there was no message (nothing to apply)."""
    appraisal_source: str = ""
    appraisal_call: AppraisalOutcome | None = None
    """The model call that appraised the message, when one was made (its usage is metered by the caller)."""


@dataclass(frozen=True)
class PersonaTurn:
    """A turn's outcome: the engine's result, the prompt data for the state it led to, and the proactive hint
    (when the persona would next reach out by itself, and what it already wants to)."""

    session: PersonaSession
    result: TurnResult
    prompt_data: dict[str, Any]
    proactive_hint: dict[str, Any]
    dynamics: dict[str, Any] = field(default_factory=dict)
    """The persona API's extras: ``goalChanges`` and ``maskExposure`` when the step caused them."""

    def emotion_summary(self) -> dict[str, Any]:
        """What a client needs to switch the character's expression: emotion (VAD), discrete emotion,
        intensity, trust and its change, attachment style, body budget, soul stage, the stage transition and
        overflow flags, and the appraisal that caused it."""
        result = self.result
        state = result.state
        relationship = result.relationship
        return {
            "emotion": state.vad.to_dict(),
            "discrete_emotion": state.discrete.to_dict(),
            "intensity": round(state.intensity, 4),
            "trust": round(relationship.trust, 4) if relationship else None,
            "trust_delta": round(result.trust_delta, 4),
            "attachment_style": relationship.attachment_style if relationship else None,
            "body_budget": round(state.body_budget, 4),
            "soul_stage": {"id": state.stage, "name": STAGES[state.stage][0]},
            "stage_transition": result.stage_transition,
            "emotional_overflow": result.emotional_overflow,
            "appraisal": result.appraisal.to_dict(),
        }


@dataclass(frozen=True)
class PerceiveAppraisal:
    """An event of the persona API's ``perceive``, appraised and not yet applied."""

    session: PersonaSession
    appraisal: Appraisal
    source: AppraisalSource
    call: AppraisalOutcome | None = None
    """The model call that appraised the message, when one was made (its usage is metered by the caller)."""
    text: str = ""
    """What the persona perceived: the message and the stimulus's description (the goals it names follow it)."""
    recurrence: float = 0.0
    """How familiar the recalled episodes made the event (``engine.appraisal_recalled``), 0..1."""


@dataclass(frozen=True)
class PersonaTick:
    """Time passed for a persona: its row after the decay, and the internal events that raised."""

    session: PersonaSession
    events: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class WorldInteraction:
    """An interaction's outcome: the action, the target's turn and its emotion before, the witnesses' turns,
    the target's relationship toward the actor as updated, and the event that recorded it."""

    action: str
    target: WorldMember
    before: VAD
    turn: PersonaTurn
    reactions: tuple[tuple[WorldMember, PersonaTurn], ...]
    relationship: WorldRelationship | None
    event: WorldEvent
