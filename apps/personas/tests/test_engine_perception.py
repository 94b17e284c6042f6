"""The persona API's additions around the emotion step (``engine.perception``): pure functions, no database."""

from apps.personas import engine
from apps.personas.engine.perception import recurrence

NOW = 1_700_000_000_000
PRAISE = engine.Appraisal(goal_relevance=0.8, goal_congruence=0.9, expectedness=0.4)
INSULT = engine.Appraisal(goal_relevance=0.8, goal_congruence=-0.9, expectedness=0.4)


def _episode(source="Mina", congruence=0.9, importance=0.9, age_ms=0):
    return engine.PriorEpisode.from_wire(
        {"sourceEntity": source, "appraisal": {"goal_congruence": congruence}, "importance": importance,
         "timestamp": NOW - age_ms}
    )  # fmt: skip


def test_recalled_praise_is_expected_and_duller_and_recalled_insults_sting_more():
    praised, familiar = engine.appraisal_recalled(PRAISE, [_episode()] * 3, "Mina", NOW)
    assert familiar > 0.8
    assert praised.expectedness > PRAISE.expectedness and praised.goal_relevance < PRAISE.goal_relevance
    hurt, _ = engine.appraisal_recalled(INSULT, [_episode(congruence=-0.8)] * 3, "Mina", NOW)
    assert hurt.goal_relevance > INSULT.goal_relevance and hurt.expectedness > INSULT.expectedness


def test_recurrence_counts_only_the_same_source_and_sign_and_fades_with_age():
    assert recurrence([_episode(source="Jun")], PRAISE, "Mina", NOW) == 0
    assert recurrence([_episode(congruence=-0.5)], PRAISE, "Mina", NOW) == 0
    fresh = recurrence([_episode()], PRAISE, "Mina", NOW)
    week_old = recurrence([_episode(age_ms=7 * 24 * 3600 * 1000)], PRAISE, "Mina", NOW)
    assert abs(week_old - fresh / 2) < 1e-9
    # an episode without an appraisal counts by the valence it left
    by_snapshot = engine.PriorEpisode.from_wire({"emotionSnapshot": {"V": 0.6}, "importance": 0.9})
    assert recurrence([by_snapshot], PRAISE, "", NOW) > 0
    assert engine.appraisal_recalled(PRAISE, [], "Mina", NOW) == (PRAISE, 0.0)


def test_stimulus_text_and_intensity():
    assert engine.stimulus_text("hi", {"description": "a door slams"}) == "hi\na door slams"
    assert engine.stimulus_text("", {"text": "thunder"}) == "thunder"
    assert engine.appraisal_intensified(PRAISE, 1.0).goal_relevance == 1.0
    assert engine.appraisal_intensified(PRAISE, 0.0).goal_relevance == 0.4
    assert engine.appraisal_intensified(PRAISE, None) is PRAISE


GOALS = [
    {"id": "cafe", "content": "keep the cafe open", "priority": 0.5},
    {"id": "exam", "content": "pass the barista exam", "priority": 0.9, "status": "active"},
    {"id": "fixed", "content": "protect the cafe", "priority": 0.7, "mutable": False},
]


def test_an_event_naming_a_goal_achieves_or_blocks_it():
    goals, changes = engine.goals_after_event(GOALS, PRAISE, "The cafe stays open, the lease is signed!")
    assert changes == {"achieved": ["cafe"]} and goals[0]["status"] == "achieved"
    assert goals[2] == GOALS[2]  # immutable goals never change
    goals, changes = engine.goals_after_event(GOALS, INSULT, "They will close the cafe.")
    assert changes == {"blocked": ["cafe"], "priorityChanged": [{"id": "cafe", "from": 0.5, "to": 0.6}]}
    assert goals[0]["priority"] == 0.6 and GOALS[0]["priority"] == 0.5  # the input is left alone


def test_an_unnamed_but_very_relevant_event_bears_on_the_top_goal_and_a_mild_one_on_none():
    _, changes = engine.goals_after_event(GOALS, PRAISE, "Wonderful news!")
    assert changes == {"achieved": ["exam"]}
    mild = engine.Appraisal(goal_relevance=0.5, goal_congruence=0.9)
    assert engine.goals_after_event(GOALS, mild, "Wonderful news!")[1] is None
    lukewarm = engine.Appraisal(goal_relevance=0.9, goal_congruence=0.2)
    assert engine.goals_after_event(GOALS, lukewarm, "the cafe")[1] is None
    unnamed = [{"content": "rest"}]
    assert engine.goals_after_event(unnamed, PRAISE, "rest at last")[1] == {"achieved": ["goal-0"]}


TRAITS = {"O": 0.5, "C": 0.9, "E": 0.4, "A": 0.5, "N": 0.8, "H": 0.5}


def _persona(strategy):
    personality = engine.personality_from_spec({"personality": TRAITS})
    return engine.emotion_config_derive(personality, {"regulation": {"strategy": strategy}})


def test_a_suppressing_persona_masks_until_the_felt_emotion_overwhelms_it():
    config = _persona("suppression")
    calm = engine.emotion_state_initial(config)
    assert engine.mask_integrity(calm, config) == 1.0
    state, exposure = calm, None
    personality = engine.personality_from_spec({"personality": TRAITS})
    relationship = engine.relationship_initial(config)
    hostile = engine.Appraisal(goal_relevance=1, goal_congruence=-1, controllability=0, norm_compatibility=-1)
    for _ in range(6):
        after = engine.emotion_step(state, hostile, config, personality, relationship, 1).state
        exposure = exposure or engine.mask_exposure(state, after, config)
        state = after
    assert exposure is not None and exposure["type"] in ("leak", "break")
    assert exposure["integrity"] < 0.5 <= exposure["previousIntegrity"] and exposure["severity"] > 0.5
    # no mask, no exposure
    open_config = _persona("reappraisal")
    assert engine.mask_integrity(state, open_config) is None
    assert engine.mask_exposure(calm, state, open_config) is None


def test_a_reflection_is_asked_for_episodes_that_matter():
    prompt = engine.reflection_prompt(
        name="Sera", text="You saved the cafe", source_entity="Mina", feeling="joy", intensity=0.8, importance=0.7
    )
    assert "Sera" in prompt["system"] and "Mina" in prompt["user"] and "joy" in prompt["user"]
    assert engine.reflection_prompt(name="", text="hm", source_entity="", feeling="calm", intensity=0.1,
                                    importance=0.3) is None  # fmt: skip
