"""Appraisal: how the character evaluates an event, on six dimensions (Scherer's stimulus checks as molroo names them).

``appraise_text`` is the deterministic offline appraiser: a small multilingual lexicon (English, Korean,
Japanese) of social acts (praise, insult, threat, apology...) each carrying an appraisal profile.
The LLM appraiser (``apps.personas.appraisal``) returns the same dataclass.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apps.personas.engine.errors import EngineInputInvalid
from apps.personas.engine.lexicon import CATEGORY_PROFILES, NEUTRAL_PROFILE, lexicon_hits
from apps.personas.engine.personality import Personality

# dimension -> (low, high), molroo REST v1 ranges
DIMENSIONS: dict[str, tuple[float, float]] = {
    "goal_relevance": (0.0, 1.0),
    "goal_congruence": (-1.0, 1.0),
    "expectedness": (0.0, 1.0),
    "controllability": (0.0, 1.0),
    "agency": (-1.0, 1.0),
    "norm_compatibility": (-1.0, 1.0),
}


@dataclass(frozen=True, slots=True)
class Appraisal:
    """``agency`` < 0 means someone else caused the event, > 0 the character itself."""

    goal_relevance: float = 0.2
    goal_congruence: float = 0.0
    expectedness: float = 0.7
    controllability: float = 0.5
    agency: float = 0.0
    norm_compatibility: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return {name: round(getattr(self, name), 4) for name in DIMENSIONS}

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "appraisal") -> "Appraisal":
        """Validate a caller-supplied vector: every dimension required, numbers within molroo's ranges."""
        if not isinstance(data, Mapping):
            raise EngineInputInvalid({path: ["Must be an object with the six appraisal dimensions."]})
        problems: dict[str, list[str]] = {}
        values: dict[str, float] = {}
        for name, (low, high) in DIMENSIONS.items():
            value = data.get(name)
            if value is None:
                problems[f"{path}.{name}"] = ["This field is required."]
            elif isinstance(value, bool) or not isinstance(value, int | float) or value != value:
                problems[f"{path}.{name}"] = ["Must be a number."]
            elif not low <= value <= high:
                problems[f"{path}.{name}"] = [f"Must be between {low:g} and {high:g}."]
            else:
                values[name] = float(value)
        for name in sorted(set(data) - set(DIMENSIONS)):
            problems[f"{path}.{name}"] = ["Unknown appraisal dimension."]
        if problems:
            raise EngineInputInvalid(problems)
        return cls(**values)


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def appraise_text(text: str, personality: Personality | None = None, language: str | None = None) -> Appraisal:
    """Appraise a message offline and deterministically.

    Each lexicon hit (a word or phrase for a social act, with negation and intensifiers handled) adds its
    profile; congruence, norm and agency are the weighted mean of the hits, relevance grows with the
    strongest hit and with words from the persona's goals and core values, expectedness drops with
    surprise markers. No hit gives a mildly relevant, expected, neutral event.
    """
    hits, intensity, surprise = lexicon_hits(text or "", language)
    goal_bonus = 0.0
    if personality is not None and text:
        lowered = text.lower()
        for phrase in (*personality.goals, *personality.identity.core_values):
            for word in phrase.lower().split():
                if len(word) > 3 and word in lowered:
                    goal_bonus = 0.15
                    break
    if not hits:
        relevance, congruence, expectedness, control, agency, norm = NEUTRAL_PROFILE
        return Appraisal(
            goal_relevance=_clamp(relevance + goal_bonus + 0.05 * intensity, 0, 1),
            goal_congruence=congruence,
            expectedness=_clamp(expectedness - 0.3 * surprise, 0, 1),
            controllability=control,
            agency=agency,
            norm_compatibility=norm,
        )
    total = 0.0
    relevance_max = 0.0
    sums = [0.0, 0.0, 0.0, 0.0, 0.0]  # congruence, expectedness, controllability, agency, norm
    for category, weight, negated in hits:
        relevance, congruence, expectedness, control, agency, norm = CATEGORY_PROFILES[category]
        if negated:
            congruence, norm = -0.6 * congruence, -0.5 * norm
        total += weight
        relevance_max = max(relevance_max, relevance)
        for index, value in enumerate((congruence, expectedness, control, agency, norm)):
            sums[index] += weight * value
    congruence, expectedness, control, agency, norm = (value / total for value in sums)
    relevance = relevance_max + 0.05 * (len(hits) - 1) + 0.1 * intensity + goal_bonus
    return Appraisal(
        goal_relevance=_clamp(relevance, 0, 1),
        goal_congruence=_clamp(congruence * (1 + 0.25 * intensity), -1, 1),
        expectedness=_clamp(expectedness - 0.3 * surprise, 0, 1),
        controllability=_clamp(control, 0, 1),
        agency=_clamp(agency, -1, 1),
        norm_compatibility=_clamp(norm, -1, 1),
    )
