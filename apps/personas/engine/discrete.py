"""Discrete emotion labels: the prototypes closest in direction to the state in VAD space, nudged by
the appraisal's pattern.

Prototype directions are placed on Russell's circumplex (valence x arousal) with a dominance axis
separating anger from fear and pride from gratitude; the appraisal bonuses are OCC's distinctions
(who caused it, was it blameworthy, could it be controlled, was it expected). Direction, not distance,
decides the label, so a mild insult already reads as anger or sadness; how strong it is, is the
intensity's job.
"""

import math

from apps.personas.engine.appraisal import Appraisal

NEUTRAL_POINT = (0.0, 0.35, 0.0)  # V, A, D of an unmoved state
NEUTRAL_RADIUS = 0.08

# label -> (V, A in [0, 1], D)
PROTOTYPES: dict[str, tuple[float, float, float]] = {
    "joy": (0.7, 0.6, 0.35),
    "excitement": (0.6, 0.9, 0.4),
    "contentment": (0.5, 0.2, 0.3),
    "calm": (0.2, 0.05, 0.1),
    "gratitude": (0.6, 0.45, -0.1),
    "pride": (0.6, 0.6, 0.6),
    "affection": (0.65, 0.4, 0.1),
    "interest": (0.25, 0.55, 0.15),
    "surprise": (0.1, 0.85, 0.0),
    "anger": (-0.6, 0.8, 0.5),
    "frustration": (-0.4, 0.65, 0.1),
    "fear": (-0.6, 0.8, -0.6),
    "anxiety": (-0.35, 0.65, -0.35),
    "sadness": (-0.6, 0.2, -0.5),
    "shame": (-0.5, 0.45, -0.6),
    "disgust": (-0.6, 0.5, 0.3),
    "boredom": (-0.2, 0.05, -0.1),
}
VALENCE_WEIGHT = 1.5


def _direction(v: float, a: float, d: float) -> tuple[float, float, float, float]:
    x, y, z = VALENCE_WEIGHT * (v - NEUTRAL_POINT[0]), a - NEUTRAL_POINT[1], d - NEUTRAL_POINT[2]
    norm = math.sqrt(x * x + y * y + z * z)
    return (x / norm, y / norm, z / norm, norm) if norm else (0.0, 0.0, 0.0, 0.0)


_ITEMS = tuple((label, *_direction(*point)[:3]) for label, point in PROTOTYPES.items())


def _bonuses(appraisal: Appraisal | None, trust: float) -> dict[str, float]:
    if appraisal is None:
        return {}
    rel = appraisal.goal_relevance
    cong = appraisal.goal_congruence
    agency = appraisal.agency
    bonus: dict[str, float] = {}
    if cong > 0.2 and agency < -0.2:
        bonus["gratitude"] = 0.15 * rel
        if trust > 0.6:
            bonus["affection"] = 0.2 * rel
    if cong > 0.2 and agency > 0.2:
        bonus["pride"] = 0.2 * rel
    if cong < -0.2 and agency < -0.2 and appraisal.controllability >= 0.4:
        bonus["anger"] = 0.15 * rel
    if cong < -0.2 and appraisal.controllability < 0.35:
        bonus["fear"] = 0.15 * rel
    if cong < -0.2 and agency > 0.2:
        bonus["shame"] = 0.2 * rel
    if appraisal.norm_compatibility < -0.5:
        bonus["disgust"] = 0.08 * rel
    if appraisal.expectedness < 0.3:
        bonus["surprise"] = 0.15 * (0.3 - appraisal.expectedness) / 0.3
    return bonus


def discrete_label(
    v: float, a: float, d: float, appraisal: Appraisal | None = None, trust: float = 0.5
) -> tuple[str, str]:
    """``(primary, secondary)``: the two prototypes best aligned with the state (cosine plus appraisal bonus).

    A state within ``NEUTRAL_RADIUS`` of the unmoved point is ``neutral`` with the best match as secondary.
    """
    x, y, z, norm = _direction(v, a, d)
    bonus = _bonuses(appraisal, trust)
    best = second = "neutral"
    best_score = second_score = -1e9
    for label, px, py, pz in _ITEMS:
        # Never label against the sign of a clear valence: a pleasant state is not "sadness".
        if (v > 0.1 and px < 0) or (v < -0.1 and px > 0):
            continue
        score = x * px + y * py + z * pz
        if bonus:
            score += bonus.get(label, 0.0)
        if score > best_score:
            second, second_score = best, best_score
            best, best_score = label, score
        elif score > second_score:
            second, second_score = label, score
    if norm < NEUTRAL_RADIUS:
        return "neutral", best
    return best, second
