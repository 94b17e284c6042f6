"""Reading Foil's bring-your-own-model headers into one request's CallOverrides, and refusing bad ones by name
without repeating their values."""

import pytest
from django.test import RequestFactory

from apps.api.npc.byok import call_overrides
from apps.core.errors import ValidationFailed
from apps.llm.types import CallOverrides, ModelOverride

KEY = "sk-general-0123456789"


def _request(**headers: str):
    return RequestFactory().post("/", headers=headers)


def test_no_header_is_no_override():
    assert call_overrides(_request()) is None
    assert call_overrides(_request(**{"X-LLM-API-Key": "  "})) is None  # blank is absent


def test_the_general_key_and_model_apply_to_every_step():
    general = ModelOverride(api_key=KEY, model="gpt-x")
    assert call_overrides(_request(**{"X-LLM-API-Key": KEY, "X-LLM-Model": "gpt-x"})) == CallOverrides(
        general, general, general
    )


def test_step_headers_override_the_general_ones_step_by_step():
    overrides = call_overrides(
        _request(
            **{
                "X-LLM-API-Key": KEY,
                "X-LLM-Model": "gpt-x",
                "X-LLM-Eval-Model": "eval-small",
                "X-LLM-Response-API-Key": "sk-reply-only",
                "X-LLM-Summarization-Model": "sum-model",
                "X-LLM-Summarization-API-Key": "sk-sum",
            }
        )
    )
    assert overrides == CallOverrides(
        evaluation=ModelOverride(api_key=KEY, model="eval-small"),
        reply=ModelOverride(api_key="sk-reply-only", model="gpt-x"),
        summarization=ModelOverride(api_key="sk-sum", model="sum-model"),
    )


def test_a_step_key_alone_runs_that_step_alone_on_it():
    overrides = call_overrides(_request(**{"X-LLM-Eval-API-Key": "sk-eval", "X-LLM-Eval-Model": "m"}))
    assert overrides == CallOverrides(evaluation=ModelOverride(api_key="sk-eval", model="m"))


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"X-LLM-Model": "gpt-x"}, "X-LLM-Model"),
        ({"X-LLM-Response-Model": "gpt-x"}, "X-LLM-Response-Model"),
        ({"X-LLM-Eval-API-Key": "sk-eval", "X-LLM-Model": "gpt-x"}, "X-LLM-Model"),  # the reply has no key
    ],
)
def test_a_model_without_a_key_for_its_step_is_refused(headers, named):
    with pytest.raises(ValidationFailed) as refused:
        call_overrides(_request(**headers))
    assert list(refused.value.fields) == [named]
    assert "needs a key" in refused.value.message


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-LLM-API-Key", "sk-" + "a" * 600),
        ("X-LLM-API-Key", "sk-secret with-space"),
        ("X-LLM-Eval-API-Key", "sk-secret\tTAB"),
        ("X-LLM-Model", "gpt\x7fdel"),
    ],
)
def test_a_bad_value_is_refused_by_header_name_without_repeating_it(header, value):
    with pytest.raises(ValidationFailed) as refused:
        call_overrides(_request(**{"X-LLM-API-Key": KEY, header: value}))
    assert list(refused.value.fields) == [header]
    assert header in refused.value.message
    assert "secret" not in refused.value.message and "a" * 50 not in refused.value.message
