"""When a persona wants to reach out first (molroo's proactive triggers), as a pure function of its state.

- ``attachment_seeking`` (Bowlby): the end-user has been away longer than the persona's attachment style
  tolerates; anxious styles reach out soonest, avoidant ones latest, and a stronger bond (trust) shortens
  the wait.
- ``need_deficit`` (self-determination theory): autonomy, competence or relatedness fell below
  ``NEED_DEFICIT_BELOW``.
- ``emotional_overflow``: the current intensity is at or above the persona's overflow threshold.
"""

from typing import Any

TRIGGERS = ("attachment_seeking", "need_deficit", "emotional_overflow")
# Hours of absence before attachment seeking, by attachment style, for a neutral bond (trust 0.5).
ABSENCE_HOURS = {"anxious": 4.0, "fearful": 12.0, "secure": 24.0, "avoidant": 72.0}
NEED_DEFICIT_BELOW = 0.3
RECHECK_MIN_SECONDS = 3600.0  # the periodic sweep looks at a session at most this often

MESSAGES = {
    "attachment_seeking": "Hey, it's been a while. I've been thinking about our last conversation...",
    "need_deficit": {
        "relatedness": "I'd love to hear how you're doing. Got a minute to talk?",
        "competence": "Could you let me help with something? I'd like to be useful.",
        "autonomy": "I've been wanting to share an idea of my own, if you're open to it.",
    },
    "emotional_overflow": "Something has been weighing on me and I need to get it off my chest.",
}


def _number(mapping: Any, key: str, default: float) -> float:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def attachment_wait_seconds(*, relationship: dict[str, Any], config: dict[str, Any]) -> float:
    """How long an absence this persona tolerates before it seeks the end-user out."""
    style = relationship.get("attachment_style") or config.get("attachment_style") or "secure"
    trust = _number(relationship, "trust", 0.5)
    return ABSENCE_HOURS.get(style, ABSENCE_HOURS["secure"]) * (1.5 - trust) * 3600


def proactive_candidates(
    *,
    state: dict[str, Any],
    relationship: dict[str, Any],
    config: dict[str, Any],
    idle_seconds: float,
    triggers: dict[str, bool],
    exclude: set[str],
) -> list[dict[str, Any]]:
    """The actions due now, as ``{type, message, priority, metadata}``; none of a type in ``exclude``."""
    found: list[dict[str, Any]] = []

    def wanted(kind: str) -> bool:
        return triggers.get(kind, True) and kind not in exclude

    if wanted("emotional_overflow"):
        intensity = _number(state, "emotion_intensity", 0.0)
        threshold = _number(config, "overflow_threshold", 0.85)
        if intensity >= threshold:
            found.append(
                {
                    "type": "emotional_overflow",
                    "message": MESSAGES["emotional_overflow"],
                    "priority": "high",
                    "metadata": {"emotion_intensity": round(intensity, 4), "threshold": threshold},
                }
            )
    if wanted("need_deficit"):
        needs = state.get("need_state") if isinstance(state.get("need_state"), dict) else {}
        low = sorted(
            (value, name)
            for name in ("relatedness", "competence", "autonomy")
            if (value := _number(needs, name, 1.0)) < NEED_DEFICIT_BELOW
        )
        if low:
            value, name = low[0]
            found.append(
                {
                    "type": "need_deficit",
                    "message": MESSAGES["need_deficit"][name],
                    "priority": "medium" if value < NEED_DEFICIT_BELOW / 2 else "low",
                    "metadata": {"need": name, "value": round(value, 4), "threshold": NEED_DEFICIT_BELOW},
                }
            )
    if wanted("attachment_seeking") and idle_seconds > 0:
        style = relationship.get("attachment_style") or config.get("attachment_style") or "secure"
        trust = _number(relationship, "trust", 0.5)
        hours = attachment_wait_seconds(relationship=relationship, config=config) / 3600
        absent_hours = idle_seconds / 3600
        if absent_hours >= hours:
            found.append(
                {
                    "type": "attachment_seeking",
                    "message": MESSAGES["attachment_seeking"],
                    "priority": "high" if absent_hours >= 2 * hours else "medium",
                    "metadata": {
                        "absent_seconds": round(idle_seconds),
                        "attachment_style": style,
                        "trust": round(trust, 4),
                    },
                }
            )
    return found
