"""The engine's state types: emotion state, relationship, turn result.

Immutable; ``to_dict``/``from_dict`` round-trip (values rounded to 4 decimals, bookkeeping to 6).
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apps.personas.engine.appraisal import Appraisal
from apps.personas.engine.config import ATTACHMENT_STYLES, REGULATION_STRATEGIES, VAD, EmotionConfig, clamp
from apps.personas.engine.errors import EngineInputInvalid
from apps.personas.engine.stages import STAGES, stage_dict

VALENCE_HISTORY = 16
REGULATION_HISTORY = 10


@dataclass(frozen=True, slots=True)
class DiscreteEmotion:
    primary: str
    secondary: str
    intensity: float

    def to_dict(self) -> dict[str, Any]:
        return {"primary": self.primary, "secondary": self.secondary, "intensity": round(self.intensity, 4)}


@dataclass(frozen=True, slots=True)
class Needs:
    """Self-determination theory's three needs, each satisfied from 0 to 1."""

    autonomy: float = 0.6
    competence: float = 0.6
    relatedness: float = 0.6

    def to_dict(self) -> dict[str, float]:
        return {
            "autonomy": round(self.autonomy, 4),
            "competence": round(self.competence, 4),
            "relatedness": round(self.relatedness, 4),
        }


@dataclass(frozen=True, slots=True)
class RegulationEvent:
    turn: int
    strategy: str
    absorbed: float
    """Share of the turn's change the strategy absorbed."""

    def to_dict(self) -> dict[str, Any]:
        return {"turn": self.turn, "strategy": self.strategy, "absorbed": round(self.absorbed, 4)}


@dataclass(frozen=True, slots=True)
class EmotionState:
    vad: VAD
    intensity: float
    discrete: DiscreteEmotion
    body_budget: float
    """Psychological energy in [0, 1]; drained by aroused negative turns, refilled by rest and calm good ones."""
    stress: float
    """Accumulated load in [0, 1] that drives the soul stage."""
    stage: int
    crisis_experienced: bool
    resilience: float
    needs: Needs
    regulation_active: str | None
    regulation_history: tuple[RegulationEvent, ...]
    valence_history: tuple[float, ...]
    turns: int

    def affect_dynamics(self) -> dict[str, float]:
        """Variability (SD of recent valence) and instability (mean squared successive difference)."""
        values = self.valence_history
        if len(values) < 2:
            return {"variability": 0.0, "instability": 0.0}
        mean = sum(values) / len(values)
        variability = math.sqrt(sum((value - mean) ** 2 for value in values) / len(values))
        instability = sum((b - a) ** 2 for a, b in zip(values, values[1:], strict=False)) / (len(values) - 1)
        return {"variability": round(variability, 4), "instability": round(instability, 4)}

    def public_dict(self) -> dict[str, Any]:
        """molroo's state fields (``GET /state``) without ``prompt_data``."""
        return {
            "emotion": self.vad.to_dict(),
            "emotion_intensity": round(self.intensity, 4),
            "discrete_emotion": self.discrete.to_dict(),
            "body_budget": round(self.body_budget, 4),
            "soul_stage": stage_dict(self.stage),
            "need_state": self.needs.to_dict(),
            "regulation": {
                "active_strategy": self.regulation_active,
                "history": [event.to_dict() for event in self.regulation_history],
            },
            "affect_dynamics": self.affect_dynamics(),
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything needed to resume: the public fields plus the engine's bookkeeping under ``dynamics``."""
        return {
            **self.public_dict(),
            "dynamics": {
                "stress": round(self.stress, 6),
                "crisis_experienced": self.crisis_experienced,
                "resilience": round(self.resilience, 6),
                "valence_history": [round(value, 4) for value in self.valence_history],
                "turns": self.turns,
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "EmotionState":
        """Rebuild from ``to_dict()`` output; values are clamped into range, bad shapes raise EngineInputInvalid."""
        try:
            emotion = data["emotion"]
            discrete = data["discrete_emotion"]
            needs = data.get("need_state") or {}
            regulation = data.get("regulation") or {}
            dynamics = data.get("dynamics") or {}
            stage = int(data["soul_stage"]["id"])
            active = regulation.get("active_strategy")
            return cls(
                vad=VAD(
                    clamp(float(emotion["V"]), -1, 1),
                    clamp(float(emotion["A"]), 0, 1),
                    clamp(float(emotion["D"]), -1, 1),
                ),
                intensity=clamp(float(data["emotion_intensity"]), 0, 1),
                discrete=DiscreteEmotion(
                    str(discrete["primary"]), str(discrete["secondary"]), clamp(float(discrete["intensity"]), 0, 1)
                ),
                body_budget=clamp(float(data["body_budget"]), 0, 1),
                stress=clamp(float(dynamics.get("stress", 0.0)), 0, 1),
                stage=stage if stage in STAGES else 1,
                crisis_experienced=bool(dynamics.get("crisis_experienced", False)),
                resilience=clamp(float(dynamics.get("resilience", 0.0)), 0, 1),
                needs=Needs(
                    clamp(float(needs.get("autonomy", 0.6)), 0, 1),
                    clamp(float(needs.get("competence", 0.6)), 0, 1),
                    clamp(float(needs.get("relatedness", 0.6)), 0, 1),
                ),
                regulation_active=active if active in REGULATION_STRATEGIES else None,
                regulation_history=tuple(
                    RegulationEvent(int(item["turn"]), str(item["strategy"]), float(item["absorbed"]))
                    for item in regulation.get("history", [])[-REGULATION_HISTORY:]
                ),
                valence_history=tuple(
                    clamp(float(value), -1, 1) for value in dynamics.get("valence_history", [])[-VALENCE_HISTORY:]
                ),
                turns=int(dynamics.get("turns", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EngineInputInvalid({"state": [f"Not an engine state ({exc!s})."]}) from exc


@dataclass(frozen=True, slots=True)
class Relationship:
    """What the character feels toward one end-user."""

    trust: float
    attachment_style: str
    bond: float
    """Closeness built by positive exchanges, in [0, 1]."""
    interactions: int = 0
    positive_turns: int = 0
    negative_turns: int = 0
    consecutive_negative: int = 0
    patterns: tuple[str, ...] = ()
    """Unhealthy patterns detected so far: ``repeated_hostility``, ``boundary_violation``, ``manipulation``."""

    def public_dict(self) -> dict[str, Any]:
        return {
            "trust": round(self.trust, 4),
            "attachment_style": self.attachment_style,
            "bond": round(self.bond, 4),
            "unhealthy_patterns": list(self.patterns),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.public_dict(),
            "interactions": self.interactions,
            "positive_turns": self.positive_turns,
            "negative_turns": self.negative_turns,
            "consecutive_negative": self.consecutive_negative,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Relationship":
        try:
            style = data.get("attachment_style", "secure")
            return cls(
                trust=clamp(float(data["trust"]), 0, 1),
                attachment_style=style if style in ATTACHMENT_STYLES else "secure",
                bond=clamp(float(data.get("bond", 0.0)), 0, 1),
                interactions=int(data.get("interactions", 0)),
                positive_turns=int(data.get("positive_turns", 0)),
                negative_turns=int(data.get("negative_turns", 0)),
                consecutive_negative=int(data.get("consecutive_negative", 0)),
                patterns=tuple(str(item) for item in data.get("unhealthy_patterns", [])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EngineInputInvalid({"relationship": [f"Not a relationship state ({exc!s})."]}) from exc


def relationship_initial(config: EmotionConfig) -> Relationship:
    """A first meeting: the config's initial trust and attachment style, no bond yet."""
    return Relationship(trust=config.trust_initial, attachment_style=config.attachment_style, bond=0.0)


@dataclass(frozen=True, slots=True)
class TurnResult:
    state: EmotionState
    relationship: Relationship | None
    appraisal: Appraisal
    previous_stage: int
    stage_transition: bool
    emotional_overflow: bool
    trust_delta: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """molroo's turn response fields (``prompt_data`` and ``proactive_hint`` are added by the caller)."""
        state = self.state
        result = {
            "appraisal": self.appraisal.to_dict(),
            "new_emotion": state.vad.to_dict(),
            "emotion_intensity": round(state.intensity, 4),
            "discrete_emotion": state.discrete.to_dict(),
            "stage_transition": self.stage_transition,
            "body_budget": round(state.body_budget, 4),
            "soul_stage": stage_dict(state.stage),
            "need_state": state.needs.to_dict(),
            "emotional_overflow": self.emotional_overflow,
        }
        if self.relationship is not None:
            result["relationship"] = self.relationship.public_dict()
        return result
