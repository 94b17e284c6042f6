"""Plain unit tests of the engine (no database)."""

import pytest

from apps.personas.engine import (
    FACETS,
    NEUTRAL_TRAIT,
    PRESETS,
    Appraisal,
    EmotionState,
    EngineInputInvalid,
    Relationship,
    UnknownPreset,
    appraise_text,
    emotion_config_derive,
    emotion_config_from_spec,
    emotion_state_initial,
    emotion_step,
    personality_from_dict,
    personality_from_spec,
    presets_list,
    prompt_data_build,
    relationship_initial,
)


def test_presets_are_the_five_molroo_presets_in_big_five():
    assert set(PRESETS) == {
        "cheerful_companion",
        "stoic_mentor",
        "anxious_helper",
        "playful_trickster",
        "empathetic_listener",
    }
    listed = presets_list()
    assert [item["id"] for item in listed] == list(PRESETS)
    for item in listed:
        assert set(item) == {"id", "name", "description", "personality", "goals", "emotion_config"}
        assert set(item["personality"]) == {"O", "C", "E", "A", "N"}
    assert PRESETS["cheerful_companion"].personality["E"] == 0.8
    assert PRESETS["stoic_mentor"].personality["N"] == 0.15


def test_big_five_only_input_gets_neutral_honesty_humility():
    personality = personality_from_spec({"personality": {"O": 0.1, "C": 0.2, "E": 0.3, "A": 0.4, "N": 0.5}})
    assert personality.H == NEUTRAL_TRAIT
    assert personality.preset is None


def test_custom_fields_win_over_the_preset():
    personality = personality_from_spec(
        {
            "preset": "stoic_mentor",
            "identity": {"name": "Hana", "language": "ko"},
            "personality": {"N": 0.9, "H": 0.8},
            "goals": ["win the tournament"],
        }
    )
    assert personality.preset == "stoic_mentor"
    assert personality.N == 0.9 and personality.H == 0.8
    assert personality.C == 0.85  # untouched preset trait
    assert personality.identity.name == "Hana" and personality.identity.language == "ko"
    assert personality.goals == ("win the tournament",)


def test_facets_default_to_their_domain_and_can_be_set():
    personality = personality_from_spec(
        {"personality": {"O": 0.1, "C": 0.2, "E": 0.3, "A": 0.4, "N": 0.5, "H": 0.6, "facets": {"modesty": 0.9}}}
    )
    facets = personality.to_dict()["personality"]["facets"]
    assert len(facets) == 24 and sum(len(names) for names in FACETS.values()) == 24
    assert facets["modesty"] == 0.9
    assert facets["sincerity"] == 0.6
    assert facets["creativity"] == 0.1
    assert personality_from_dict(personality.to_dict()).facet("modesty") == 0.9


@pytest.mark.parametrize(
    ("spec", "paths"),
    [
        ({"personality": {"O": 0.1, "C": 0.2, "E": 0.3, "A": 0.4}}, ["personality.N"]),
        ({"personality": {"O": 2, "C": 0.2, "E": 0.3, "A": 0.4, "N": "x"}}, ["personality.N", "personality.O"]),
        ({"preset": "cheerful_companion", "personality": {"facets": {"nope": 0.1}}}, ["personality.facets.nope"]),
        ({"preset": "cheerful_companion", "identity": {"name": 5}}, ["identity.name"]),
        ({"preset": "cheerful_companion", "goals": "be nice"}, ["goals"]),
        ({"preset": "cheerful_companion", "personality": {"Q": 0.1}}, ["personality.Q"]),
    ],
)
def test_bad_persona_fields_are_named(spec, paths):
    with pytest.raises(EngineInputInvalid) as caught:
        personality_from_spec(spec)
    assert sorted(caught.value.fields) == sorted(paths)


def test_unknown_preset_has_its_own_code():
    with pytest.raises(UnknownPreset) as caught:
        personality_from_spec({"preset": "grumpy_cat"})
    assert caught.value.code == "invalid_preset"


def test_config_is_derived_and_overridable_field_by_field():
    personality = personality_from_spec({"preset": "anxious_helper"})
    derived = emotion_config_derive(personality)
    overridden = emotion_config_derive(
        personality, {"baseline": {"V": -0.3}, "regulation": {"strategy": "suppression"}}
    )
    assert overridden.baseline.V == -0.3
    assert overridden.baseline.A == derived.baseline.A
    assert overridden.regulation_strategy == "suppression"
    assert overridden.regulation_capacity == derived.regulation_capacity
    assert emotion_config_derive(personality, derived.to_dict()).to_dict() == derived.to_dict()


def test_mehrabian_mapping_orders_baselines_sensibly():
    warm = emotion_config_derive(personality_from_spec({"personality": dict(O=0.5, C=0.5, E=0.9, A=0.9, N=0.1)}))
    cold = emotion_config_derive(personality_from_spec({"personality": dict(O=0.5, C=0.5, E=0.1, A=0.1, N=0.9)}))
    assert warm.baseline.V > 0 > cold.baseline.V
    assert cold.baseline.A > warm.baseline.A  # neuroticism raises arousability
    assert warm.baseline.D > cold.baseline.D  # extraversion raises dominance


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"sensitivity": 9}, "emotion_config.sensitivity"),
        ({"regulation": {"strategy": "screaming"}}, "emotion_config.regulation.strategy"),
        ({"baseline": "happy"}, "emotion_config.baseline"),
        ({"trust": {"gain_rate": 0.2, "loss_rate": 0.3}}, "emotion_config.trust.loss_rate"),
        ({"colour": "blue"}, "emotion_config.colour"),
    ],
)
def test_bad_config_overrides_are_named(overrides, path):
    with pytest.raises(EngineInputInvalid) as caught:
        emotion_config_derive(personality_from_spec({"preset": "stoic_mentor"}), overrides)
    assert path in caught.value.fields


def test_preset_emotion_config_then_custom_override():
    personality = personality_from_spec({"preset": "stoic_mentor"})
    assert emotion_config_from_spec(personality, {}).regulation_strategy == "reappraisal"
    custom = emotion_config_from_spec(personality, {"emotion_config": {"regulation": {"strategy": "distraction"}}})
    assert custom.regulation_strategy == "distraction"


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("You're amazing, thank you so much!", 1),
        ("You are a stupid idiot", -1),
        ("I'm not happy with you", -1),
        ("that wasn't bad at all", 1),
        ("정말 고마워, 최고야!", 1),
        ("너 진짜 바보 멍청이야", -1),
        ("ありがとう、すごいね!", 1),
        ("バカ、消えろ", -1),
        ("thanks, idiot", -1),
    ],
)
def test_lexicon_appraiser_reads_the_valence_of_a_message(text, sign):
    appraisal = appraise_text(text)
    assert appraisal.goal_congruence * sign > 0.2
    assert appraisal.goal_relevance > 0.3


def test_neutral_text_is_a_mild_expected_event():
    appraisal = appraise_text("The train leaves at nine.")
    assert appraisal.goal_congruence == 0 and appraisal.goal_relevance < 0.3 and appraisal.expectedness > 0.5


def test_surprise_lowers_expectedness_and_goals_raise_relevance():
    personality = personality_from_spec({"preset": "stoic_mentor", "goals": ["finish the marathon"]})
    plain = appraise_text("I signed up for a race")
    assert appraise_text("wow, suddenly I signed up for a race?!").expectedness < plain.expectedness
    assert appraise_text("I will run the marathon", personality).goal_relevance > plain.goal_relevance


def test_appraisal_from_dict_validates_ranges():
    assert Appraisal.from_dict(Appraisal().to_dict()) == Appraisal()
    with pytest.raises(EngineInputInvalid) as caught:
        Appraisal.from_dict({"goal_relevance": 2, "goal_congruence": 0, "expectedness": 0.5})
    assert set(caught.value.fields) == {
        "appraisal.goal_relevance",
        "appraisal.controllability",
        "appraisal.agency",
        "appraisal.norm_compatibility",
    }


def test_a_turn_end_to_end_with_serialisation_round_trip():
    personality = personality_from_spec({"preset": "cheerful_companion", "identity": {"name": "Mina"}})
    config = emotion_config_derive(personality)
    state = emotion_state_initial(config)
    relationship = relationship_initial(config)
    result = emotion_step(state, appraise_text("you're wonderful"), config, personality, relationship, 30)
    assert result.state.vad.V > state.vad.V
    assert result.state.discrete.primary in {"joy", "gratitude", "affection", "contentment", "pride"}
    assert result.relationship.trust > relationship.trust
    response = result.to_dict()
    assert set(response) >= {
        "appraisal", "new_emotion", "emotion_intensity", "discrete_emotion", "stage_transition",
        "body_budget", "soul_stage",
    }  # fmt: skip
    assert EmotionState.from_dict(result.state.to_dict()).to_dict() == result.state.to_dict()
    assert Relationship.from_dict(result.relationship.to_dict()).to_dict() == result.relationship.to_dict()


def test_an_insult_from_a_disagreeable_persona_reads_as_anger_and_from_an_agreeable_one_as_hurt():
    insult = appraise_text("you are a pathetic idiot")
    labels = {}
    for agreeableness in (0.1, 0.95):
        personality = personality_from_spec({"personality": dict(O=0.5, C=0.5, E=0.5, A=agreeableness, N=0.5)})
        config = emotion_config_derive(personality)
        labels[agreeableness] = emotion_step(emotion_state_initial(config), insult, config, personality).state
    assert labels[0.1].discrete.primary in {"anger", "disgust", "frustration"}
    assert labels[0.95].discrete.primary in {"sadness", "anxiety", "fear", "shame"}
    assert labels[0.1].vad.D > labels[0.95].vad.D


@pytest.mark.parametrize(
    ("language", "marker"), [("en", "You are Mina."), ("ko", "당신은 Mina입니다."), ("ja", "あなたはMinaです。")]
)
def test_prompt_data_in_the_persona_language(language, marker):
    personality = personality_from_spec(
        {"preset": "empathetic_listener", "identity": {"name": "Mina", "language": language}}
    )
    config = emotion_config_derive(personality)
    data = prompt_data_build(personality, emotion_state_initial(config), relationship_initial(config))
    assert set(data) >= {"system", "context", "instruction", "formatted"}
    assert data["formatted"]["system_prompt"].startswith(marker)
    assert data["context"]["formatted"]["context_block"] == data["formatted"]["context_block"]
    assert data["instruction"]["formatted"]["instruction_block"] == data["formatted"]["instruction_block"]
    assert set(data["context"]) >= {"emotion", "energy", "stage", "needs", "interpersonal"}
    assert data["context"]["interpersonal"]["attachment_style"] == config.attachment_style


def test_the_engine_is_pure_python_without_django():
    import subprocess
    import sys

    code = "import sys, apps.personas.engine; print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
