"""Soul stages: molroo's 15-level longer arc of psychological condition.

Stages 1-3 are the baseline, 4-6 rising stress, 7-9 crisis. Recovery (10-12) and growth (13-15)
open only after a crisis has been lived through; the stage then follows resilience, which grows with
calm turns after the crisis. Names 1-9 follow molroo's; 10-15 are ours (molroo's page names only the
groups and stage 15, Transcendence).
"""

from typing import Any

# id -> (name, group)
STAGES: dict[int, tuple[str, str]] = {
    1: ("Calm", "baseline"),
    2: ("Alert", "baseline"),
    3: ("Attentive", "baseline"),
    4: ("Engaged", "rising"),
    5: ("Activated", "rising"),
    6: ("Stressed", "rising"),
    7: ("Overwhelmed", "crisis"),
    8: ("Breaking Point", "crisis"),
    9: ("Collapse", "crisis"),
    10: ("Numb", "recovery"),
    11: ("Rebuilding", "recovery"),
    12: ("Restored", "recovery"),
    13: ("Resilient", "growth"),
    14: ("Flourishing", "growth"),
    15: ("Transcendence", "growth"),
}
CRISIS_STAGE = 7
# Lower bound of stress for stages 2..9 (stage 1 below the first).
STRESS_FLOORS = (0.1, 0.2, 0.32, 0.44, 0.56, 0.68, 0.8, 0.92)
RESILIENCE_FLOORS = (0.0, 0.3, 0.55, 0.75, 0.88, 0.96)  # stages 10..15
HYSTERESIS = 0.04
RECOVERY_STRESS = 0.32  # below this, a character past a crisis leaves the stress ladder for recovery/growth


def stage_dict(stage: int) -> dict[str, Any]:
    return {"id": stage, "name": STAGES[stage][0]}


def _stress_stage(stress: float) -> int:
    stage = 1
    for index, floor in enumerate(STRESS_FLOORS):
        if stress >= floor:
            stage = index + 2
    return stage


def stage_for(*, stress: float, crisis_experienced: bool, resilience: float, current: int) -> int:
    """The stage the state belongs in, with hysteresis on the way down so a stage does not flap."""
    target = _stress_stage(stress)
    if crisis_experienced and stress < RECOVERY_STRESS:
        target = 10
        for index, floor in enumerate(RESILIENCE_FLOORS):
            if resilience >= floor:
                target = 10 + index
        return target
    if current <= 9 and target < current and _stress_stage(stress + HYSTERESIS) >= current:
        return current
    return target
