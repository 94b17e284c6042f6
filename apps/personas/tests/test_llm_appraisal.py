"""The LLM appraiser against the fake OpenAI-compatible server (real HTTP through the openai client)."""

import json

import pytest

from apps.personas.appraisal import appraisal_from_model_data, message_appraise
from apps.personas.engine import appraise_text, personality_from_spec

pytestmark = pytest.mark.django_db

PERSONA = personality_from_spec(
    {"preset": "empathetic_listener", "identity": {"name": "Mina", "role": "barista"}, "goals": ["comfort people"]}
)


def test_a_real_provider_appraises_with_a_json_request(fake_llm):
    outcome = message_appraise(text="I love talking to you", personality=PERSONA, context="a rainy evening")
    assert outcome.source == "llm"
    assert outcome.appraisal.goal_relevance == 0.77  # the fake model's value; the lexicon never gives it
    assert outcome.appraisal.goal_congruence == 0.9
    assert outcome.usage is not None and outcome.usage.prompt_tokens > 0
    assert fake_llm.chat_requests == []  # appraisal requests are listed apart from replies
    (request,) = fake_llm.appraisal_requests
    assert request.body["response_format"] == {"type": "json_object"}
    system = request.body["messages"][0]["content"]
    assert "goal_congruence" in system and "Mina" in system and "comfort people" in system
    assert "a rainy evening" in system
    assert request.body["messages"][-1] == {"role": "user", "content": "I love talking to you"}


def test_hostile_message_by_llm(fake_llm):
    outcome = message_appraise(text="you are useless", personality=PERSONA)
    assert outcome.source == "llm" and outcome.appraisal.goal_congruence == -0.9


@pytest.mark.parametrize("mode", ["appraisal_invalid", "appraisal_prose", "appraisal_fail"])
def test_a_failing_llm_falls_back_to_the_lexicon(fake_llm, mode):
    fake_llm.set_mode(mode)
    outcome = message_appraise(text="thank you so much!", personality=PERSONA)
    assert outcome.source == "lexicon_fallback"
    assert outcome.appraisal == appraise_text("thank you so much!", PERSONA)
    assert len(fake_llm.appraisal_requests) == 1  # asked once, no retry storm inside a turn


def test_scripted_provider_means_the_offline_lexicon(settings, fake_llm):
    settings.LLM_CHAT_MODEL = "scripted"
    outcome = message_appraise(text="thank you so much!", personality=PERSONA)
    assert outcome.source == "lexicon"
    assert outcome.appraisal == appraise_text("thank you so much!", PERSONA)
    assert fake_llm.appraisal_requests == []


def test_lexicon_setting_never_calls_the_model(settings, fake_llm):
    settings.EMOTION_APPRAISER = "lexicon"
    assert message_appraise(text="I love you", personality=PERSONA).source == "lexicon"
    assert fake_llm.appraisal_requests == []


def test_model_values_are_clamped_and_missing_ones_refused():
    data = {"goal_relevance": 1.4, "goal_congruence": -3, "expectedness": 0.5, "controllability": 0.5,
            "agency": 0, "norm_compatibility": 0.2}  # fmt: skip
    clamped = appraisal_from_model_data({"appraisal": data})
    assert clamped.goal_relevance == 1 and clamped.goal_congruence == -1
    assert appraisal_from_model_data(json.loads('{"goal_relevance": 0.5}')) is None
    assert appraisal_from_model_data({**data, "agency": "high"}) is None
    assert appraisal_from_model_data(["not", "an", "object"]) is None
