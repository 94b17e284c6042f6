"""Emotion dynamics configuration, derived from personality unless given, overridable field by field.

The resting mood follows Mehrabian's (1996) mapping from Big Five traits to PAD temperament (see
docs/emotion-model.md); the other knobs are our own monotone functions of the traits, chosen so that
neuroticism means stronger, slower-fading negative reactions and conscientiousness better regulation.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from apps.personas.engine.errors import EngineInputInvalid
from apps.personas.engine.personality import Personality
from apps.personas.engine.preset_data import PRESETS

REGULATION_STRATEGIES = ("reappraisal", "suppression", "distraction", "rumination")
ATTACHMENT_STYLES = ("secure", "anxious", "avoidant", "fearful")
MIN_TRUST_LOSS_TO_GAIN = 2.0


def clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


@dataclass(frozen=True, slots=True)
class VAD:
    """Valence [-1, 1], arousal [0, 1] (molroo's convention: calm 0, activated 1), dominance [-1, 1]."""

    V: float
    A: float
    D: float

    def to_dict(self) -> dict[str, float]:
        return {"V": round(self.V, 4), "A": round(self.A, 4), "D": round(self.D, 4)}


@dataclass(frozen=True, slots=True)
class EmotionConfig:
    baseline: VAD
    """Resting mood the state decays toward."""
    sensitivity: float
    """Overall reactivity, multiplies every appraisal impulse (0.2..2)."""
    negativity_bias: float
    """Extra weight of goal-incongruent events (0.5..3)."""
    decay_rates: VAD
    """Exponential decay rates per second toward the baseline, one per dimension (half-life = ln 2 / rate)."""
    regulation_strategy: str
    regulation_capacity: float
    """Share of an over-threshold change the strategy can absorb (0..1; scaled by the body budget)."""
    regulation_threshold: float
    """Emotion intensity above which regulation switches on (0..1)."""
    body_budget_recovery_per_hour: float
    body_budget_cost: float
    """How much one fully intense negative, aroused turn drains the budget."""
    trust_initial: float
    trust_gain_rate: float
    trust_loss_rate: float
    """Must be at least ``MIN_TRUST_LOSS_TO_GAIN`` times ``trust_gain_rate``: trust is lost faster than won."""
    attachment_style: str
    overflow_threshold: float
    """Intensity at which a turn counts as an emotional overflow."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline.to_dict(),
            "sensitivity": round(self.sensitivity, 4),
            "negativity_bias": round(self.negativity_bias, 4),
            "decay_rates": {key: round(value, 8) for key, value in _vad_items(self.decay_rates)},
            "regulation": {
                "strategy": self.regulation_strategy,
                "capacity": round(self.regulation_capacity, 4),
                "threshold": round(self.regulation_threshold, 4),
            },
            "body_budget": {
                "recovery_per_hour": round(self.body_budget_recovery_per_hour, 4),
                "cost": round(self.body_budget_cost, 4),
            },
            "trust": {
                "initial": round(self.trust_initial, 4),
                "gain_rate": round(self.trust_gain_rate, 4),
                "loss_rate": round(self.trust_loss_rate, 4),
            },
            "attachment_style": self.attachment_style,
            "overflow_threshold": round(self.overflow_threshold, 4),
        }


def _vad_items(vad: VAD):
    return (("V", vad.V), ("A", vad.A), ("D", vad.D))


def mehrabian_pad(personality: Personality) -> tuple[float, float, float]:
    """Mehrabian (1996) temperament from Big Five, traits centred to [-1, 1]; returns raw (P, A, D)."""
    o = 2 * personality.O - 1
    c = 2 * personality.C - 1
    e = 2 * personality.E - 1
    a = 2 * personality.A - 1
    stability = 1 - 2 * personality.N
    pleasure = 0.21 * e + 0.59 * a + 0.19 * stability
    arousal = 0.15 * o + 0.30 * a - 0.57 * stability
    dominance = 0.25 * o + 0.17 * c + 0.60 * e - 0.32 * a
    return pleasure, arousal, dominance


def _derived(personality: Personality) -> dict[str, Any]:
    p = personality
    pleasure, arousal, dominance = mehrabian_pad(p)
    valence_half_life = 900.0 * (0.5 + p.N)
    if p.C >= 0.6 and p.O >= 0.5:
        strategy = "reappraisal"
    elif p.C >= 0.6:
        strategy = "suppression"
    elif p.N >= 0.65:
        strategy = "rumination"
    else:
        strategy = "distraction"
    if p.N >= 0.6:
        attachment = "anxious" if p.A >= 0.5 else "fearful"
    elif p.A < 0.4 and p.E < 0.45:
        attachment = "avoidant"
    else:
        attachment = "secure"
    return {
        # Temperament is a mild, lasting tilt, so the raw PAD (up to ~±1) is halved.
        "baseline": {
            "V": clamp(0.5 * pleasure, -0.6, 0.6),
            "A": clamp(0.35 + 0.25 * arousal, 0.05, 0.85),
            "D": clamp(0.5 * dominance, -0.6, 0.6),
        },
        "sensitivity": 0.6 + 0.8 * p.N,
        "negativity_bias": 0.8 + 0.8 * p.N,
        "decay_rates": {
            "V": math.log(2) / valence_half_life,
            "A": math.log(2) / (0.5 * valence_half_life),
            "D": math.log(2) / (1.5 * valence_half_life),
        },
        "regulation": {
            "strategy": strategy,
            "capacity": clamp(0.2 + 0.5 * p.C + 0.3 * (1 - p.N) - (0.2 if strategy == "rumination" else 0), 0, 1),
            "threshold": 0.45 + 0.2 * (1 - p.N),
        },
        "body_budget": {"recovery_per_hour": 0.1 + 0.1 * p.C, "cost": 0.06 + 0.06 * p.N},
        "trust": {
            "initial": clamp(0.35 + 0.2 * p.A + 0.1 * p.H - 0.1 * p.N, 0.1, 0.7),
            "gain_rate": 0.04 + 0.03 * p.A,
            "loss_rate": 0.16 + 0.1 * p.N,
        },
        "attachment_style": attachment,
        "overflow_threshold": 0.85 - 0.1 * p.N,
    }


# field path -> (low, high) for numbers, or the allowed values for strings
_NUMBER_RANGES: dict[str, tuple[float, float]] = {
    "baseline.V": (-1, 1),
    "baseline.A": (0, 1),
    "baseline.D": (-1, 1),
    "sensitivity": (0.2, 2),
    "negativity_bias": (0.5, 3),
    "decay_rates.V": (1e-7, 1),
    "decay_rates.A": (1e-7, 1),
    "decay_rates.D": (1e-7, 1),
    "regulation.capacity": (0, 1),
    "regulation.threshold": (0, 1),
    "body_budget.recovery_per_hour": (0, 10),
    "body_budget.cost": (0, 1),
    "trust.initial": (0, 1),
    "trust.gain_rate": (0.001, 0.5),
    "trust.loss_rate": (0.002, 1),
    "overflow_threshold": (0.1, 1),
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "regulation.strategy": REGULATION_STRATEGIES,
    "attachment_style": ATTACHMENT_STYLES,
}
_GROUPS = ("baseline", "decay_rates", "regulation", "body_budget", "trust")
# Read-only views for forms that offer these fields (the admin's persona page); the checks stay in ``_merge``.
EMOTION_CONFIG_RANGES: Mapping[str, tuple[float, float]] = MappingProxyType(_NUMBER_RANGES)
EMOTION_CONFIG_CHOICES: Mapping[str, tuple[str, ...]] = MappingProxyType(_CHOICES)


def _merge(target: dict[str, Any], overrides: Mapping[str, Any], problems: dict[str, list[str]], prefix: str) -> None:
    for key, value in overrides.items():
        path = f"{key}" if not prefix else f"{prefix}.{key}"
        if key in _GROUPS and not prefix:
            if not isinstance(value, Mapping):
                problems[f"emotion_config.{path}"] = ["Must be an object."]
                continue
            _merge(target[key], value, problems, key)
            continue
        if path in _NUMBER_RANGES:
            low, high = _NUMBER_RANGES[path]
            if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
                problems[f"emotion_config.{path}"] = ["Must be a number."]
            elif not low <= value <= high:
                problems[f"emotion_config.{path}"] = [f"Must be between {low:g} and {high:g}."]
            else:
                target[key] = float(value)
        elif path in _CHOICES:
            if value not in _CHOICES[path]:
                problems[f"emotion_config.{path}"] = [f"Must be one of: {', '.join(_CHOICES[path])}."]
            else:
                target[key] = value
        else:
            problems[f"emotion_config.{path}"] = ["Unknown field."]


def emotion_config_derive(personality: Personality, overrides: Mapping[str, Any] | None = None) -> EmotionConfig:
    """The config that follows from ``personality``, with ``overrides`` (shape of ``EmotionConfig.to_dict()``,
    any subset, nested groups partial) applied field by field. ``to_dict()`` output round-trips.

    Raises EngineInputInvalid naming each bad field as ``emotion_config.<path>``, including a trust loss
    rate below twice the gain rate (trust must be lost faster than it is won).
    """
    values = _derived(personality)
    problems: dict[str, list[str]] = {}
    if overrides is not None:
        if not isinstance(overrides, Mapping):
            raise EngineInputInvalid({"emotion_config": ["Must be an object."]})
        _merge(values, overrides, problems, "")
    trust = values["trust"]
    if not problems and trust["loss_rate"] < MIN_TRUST_LOSS_TO_GAIN * trust["gain_rate"]:
        problems["emotion_config.trust.loss_rate"] = [
            f"Must be at least {MIN_TRUST_LOSS_TO_GAIN:g} times trust.gain_rate (trust is lost faster than won)."
        ]
    if problems:
        raise EngineInputInvalid(problems)
    regulation, budget = values["regulation"], values["body_budget"]
    return EmotionConfig(
        baseline=VAD(**values["baseline"]),
        sensitivity=values["sensitivity"],
        negativity_bias=values["negativity_bias"],
        decay_rates=VAD(**values["decay_rates"]),
        regulation_strategy=regulation["strategy"],
        regulation_capacity=regulation["capacity"],
        regulation_threshold=regulation["threshold"],
        body_budget_recovery_per_hour=budget["recovery_per_hour"],
        body_budget_cost=budget["cost"],
        trust_initial=trust["initial"],
        trust_gain_rate=trust["gain_rate"],
        trust_loss_rate=trust["loss_rate"],
        attachment_style=values["attachment_style"],
        overflow_threshold=values["overflow_threshold"],
    )


def emotion_config_from_spec(personality: Personality, spec: Mapping[str, Any]) -> EmotionConfig:
    """The config for a molroo persona body: derived, then the preset's overrides, then ``spec['emotion_config']``."""
    merged: dict[str, Any] = {}
    preset = PRESETS.get(personality.preset) if personality.preset else None
    if preset is not None:
        _deep_update(merged, preset.emotion_config)
    custom = spec.get("emotion_config") if isinstance(spec, Mapping) else None
    if custom is not None:
        if not isinstance(custom, Mapping):
            raise EngineInputInvalid({"emotion_config": ["Must be an object."]})
        _deep_update(merged, custom)
    return emotion_config_derive(personality, merged)


def _deep_update(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        elif isinstance(value, Mapping):
            target[key] = dict(value)
        else:
            target[key] = value
