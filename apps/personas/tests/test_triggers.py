"""The proactive triggers as a pure function (no database)."""

from apps.personas.triggers import NEED_DEFICIT_BELOW, attachment_wait_seconds, proactive_candidates

ALL = {"attachment_seeking": True, "need_deficit": True, "emotional_overflow": True}
CALM = {"emotion_intensity": 0.1, "need_state": {"autonomy": 0.6, "competence": 0.6, "relatedness": 0.6}}
CONFIG = {"overflow_threshold": 0.8, "attachment_style": "secure"}


def _types(**kwargs) -> list[str]:
    args = {"state": CALM, "relationship": {}, "config": CONFIG, "idle_seconds": 0.0, "triggers": ALL, "exclude": set()}
    return [candidate["type"] for candidate in proactive_candidates(**{**args, **kwargs})]


def test_nothing_due_for_a_calm_present_persona():
    assert _types() == []


def test_each_trigger():
    assert _types(state={**CALM, "emotion_intensity": 0.9}) == ["emotional_overflow"]
    low = {**CALM, "need_state": {**CALM["need_state"], "relatedness": NEED_DEFICIT_BELOW / 3}}
    [candidate] = proactive_candidates(
        state=low, relationship={}, config=CONFIG, idle_seconds=0, triggers=ALL, exclude=set()
    )
    assert candidate["type"] == "need_deficit" and candidate["metadata"]["need"] == "relatedness"
    assert candidate["priority"] == "medium"
    assert _types(idle_seconds=3 * 24 * 3600) == ["attachment_seeking"]


def test_triggers_switched_off_or_already_pending_do_not_fire():
    hot = {**CALM, "emotion_intensity": 0.95}
    assert _types(state=hot, triggers={**ALL, "emotional_overflow": False}) == []
    assert _types(state=hot, exclude={"emotional_overflow"}) == []


def test_anxious_attachment_reaches_out_sooner_and_a_bond_shortens_the_wait():
    def wait(style: str, trust: float) -> float:
        return attachment_wait_seconds(relationship={"attachment_style": style, "trust": trust}, config=CONFIG)

    assert wait("anxious", 0.5) < wait("fearful", 0.5) < wait("secure", 0.5) < wait("avoidant", 0.5)
    assert wait("secure", 0.9) < wait("secure", 0.2)
    six_hours = 6 * 3600
    anxious = {"attachment_style": "anxious", "trust": 0.5}
    assert _types(relationship=anxious, idle_seconds=six_hours) == ["attachment_seeking"]
    assert _types(relationship={"attachment_style": "avoidant", "trust": 0.5}, idle_seconds=six_hours) == []
