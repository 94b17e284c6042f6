"""Property tests of the engine (hypothesis, no database): ranges, decay, direction of change, trust asymmetry."""

import math

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from apps.personas.engine import (
    PRESETS,
    Appraisal,
    EmotionState,
    Relationship,
    appraise_text,
    emotion_config_derive,
    emotion_decay,
    emotion_state_initial,
    emotion_step,
    personality_from_spec,
    prompt_data_build,
    relationship_initial,
)

settings.register_profile("engine", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("engine")

unit = st.floats(min_value=0, max_value=1, allow_nan=False)
signed = st.floats(min_value=-1, max_value=1, allow_nan=False)
appraisals = st.builds(
    Appraisal,
    goal_relevance=unit,
    goal_congruence=signed,
    expectedness=unit,
    controllability=unit,
    agency=signed,
    norm_compatibility=signed,
)
elapsed = st.one_of(st.just(0.0), st.floats(min_value=0, max_value=90 * 86400, allow_nan=False))
personalities = st.builds(
    lambda o, c, e, a, n, h: personality_from_spec({"personality": dict(O=o, C=c, E=e, A=a, N=n, H=h)}),
    unit, unit, unit, unit, unit, unit,
)  # fmt: skip
preset_personalities = st.sampled_from(sorted(PRESETS)).map(lambda name: personality_from_spec({"preset": name}))
any_personality = st.one_of(personalities, preset_personalities)
events = st.lists(st.tuples(appraisals, elapsed), max_size=25)

PRAISE = ("You're amazing, thank you!", "Well done, I'm proud of you", "정말 고마워, 최고야", "すごい、ありがとう!")
INSULTS = ("You are a stupid idiot", "Shut up, you're pathetic", "바보 멍청이", "バカ、最低")


def _run(personality, sequence):
    config = emotion_config_derive(personality)
    state = emotion_state_initial(config)
    relationship = relationship_initial(config)
    for appraisal, seconds in sequence:
        result = emotion_step(state, appraisal, config, personality, relationship, seconds)
        state, relationship = result.state, result.relationship
        yield config, result


def _assert_in_range(state: EmotionState, relationship: Relationship):
    assert -1 <= state.vad.V <= 1 and 0 <= state.vad.A <= 1 and -1 <= state.vad.D <= 1
    assert 0 <= state.intensity <= 1 and 0 <= state.discrete.intensity <= 1
    assert 0 <= state.body_budget <= 1 and 0 <= state.stress <= 1 and 0 <= state.resilience <= 1
    assert all(0 <= value <= 1 for value in state.needs.to_dict().values())
    assert 1 <= state.stage <= 15
    assert 0 <= relationship.trust <= 1 and 0 <= relationship.bond <= 1
    assert all(math.isfinite(value) for value in (state.vad.V, state.vad.A, state.vad.D, relationship.trust))


@given(any_personality, events)
def test_every_value_stays_in_range_for_any_sequence(personality, sequence):
    for _config, result in _run(personality, sequence):
        _assert_in_range(result.state, result.relationship)
        assert result.stage_transition == (result.state.stage != result.previous_stage)


@given(any_personality, events, st.floats(min_value=1, max_value=3600, allow_nan=False))
def test_decay_moves_monotonically_to_the_baseline_and_converges(personality, sequence, step):
    config = emotion_config_derive(personality)
    state = emotion_state_initial(config)
    for _config, result in _run(personality, sequence):
        state = result.state
    base = config.baseline

    def distance(s):
        return abs(s.vad.V - base.V) + abs(s.vad.A - base.A) + abs(s.vad.D - base.D)

    previous = distance(state)
    for _ in range(5):
        state = emotion_decay(state, config, step)
        assert distance(state) <= previous + 1e-12
        previous = distance(state)
    settled = emotion_decay(state, config, 60 * 86400)
    assert distance(settled) < 1e-3
    _assert_in_range(settled, relationship_initial(config))


@given(preset_personalities, events, st.sampled_from(PRAISE), st.sampled_from(INSULTS))
def test_praise_raises_and_an_insult_lowers_valence_for_every_preset(personality, sequence, praise, insult):
    config = emotion_config_derive(personality)
    state, relationship = emotion_state_initial(config), relationship_initial(config)
    for _config, result in _run(personality, sequence):
        state, relationship = result.state, result.relationship
    assume(-0.999 < state.vad.V < 0.999)
    praised = emotion_step(state, appraise_text(praise, personality), config, personality, relationship)
    insulted = emotion_step(state, appraise_text(insult, personality), config, personality, relationship)
    assert praised.state.vad.V > state.vad.V
    assert insulted.state.vad.V < state.vad.V


@given(
    any_personality,
    st.floats(min_value=0.02, max_value=0.98),
    st.floats(min_value=0.1, max_value=1),
    st.floats(min_value=0.1, max_value=1),
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=-1, max_value=0.3),
)
def test_trust_falls_faster_than_it_rises(personality, trust, relevance, congruence, norm, agency):
    config = emotion_config_derive(personality)
    relationship = Relationship(trust=trust, attachment_style=config.attachment_style, bond=0.0)
    state = emotion_state_initial(config)
    good = Appraisal(relevance, congruence, 0.5, 0.5, agency, norm)
    bad = Appraisal(relevance, -congruence, 0.5, 0.5, agency, -norm)
    rise = emotion_step(state, good, config, personality, relationship).relationship.trust - trust
    after_fall = emotion_step(state, bad, config, personality, relationship).relationship.trust
    assert rise > 0
    assert after_fall == 0 or trust - after_fall > rise


@given(st.text(max_size=300), any_personality)
def test_any_text_gives_an_in_range_appraisal(text, personality):
    appraisal = appraise_text(text, personality)
    assert Appraisal.from_dict(appraisal.to_dict()) == Appraisal(**appraisal.to_dict())


@given(any_personality, events)
def test_state_survives_serialisation_and_prompt_data_builds(personality, sequence):
    for _config, result in _run(personality, sequence):
        stored = result.state.to_dict()
        assert EmotionState.from_dict(stored).to_dict() == stored
        assert Relationship.from_dict(result.relationship.to_dict()).to_dict() == result.relationship.to_dict()
    if sequence:
        data = prompt_data_build(personality, result.state, result.relationship)
        assert data["formatted"]["context_block"] and data["formatted"]["instruction_block"]
