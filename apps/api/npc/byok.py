"""Foil's bring-your-own-model headers, read into ``llm.types.CallOverrides`` for one request.

``X-LLM-API-Key`` and ``X-LLM-Model`` apply to every step of a turn; ``X-LLM-Eval-*`` (the evaluation),
``X-LLM-Response-*`` (the reply) and ``X-LLM-Summarization-*`` (the output-variable extraction) override them
for their step, key and model each on its own. A step's calls go to ``LLM_BYOK_BASE_URL`` on the key that
applies to it, at no credits to the app.

A model needs a key: a model header for a step that has no key (neither the general one nor its own) is
refused, because a model on the platform's key would be billed at the character model's rate whatever the
caller picked. A step's own key without the general one is fine: that step alone runs on it.

The values are checked (length, characters) and never repeated in an error; they live on the request and in
the one request's model specs, and are never stored or logged.
"""

import re
from dataclasses import dataclass

from apps.core.errors import ValidationFailed
from apps.llm.types import CallOverrides, ModelOverride

API_KEY = "X-LLM-API-Key"
MODEL = "X-LLM-Model"
VALUE_MAX_CHARS = 512
# Printable ASCII without spaces: what provider keys and model ids are made of.
_TOKEN = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class _Step:
    field: str  # of CallOverrides
    api_key: str
    model: str


STEPS = (
    _Step("evaluation", "X-LLM-Eval-API-Key", "X-LLM-Eval-Model"),
    _Step("reply", "X-LLM-Response-API-Key", "X-LLM-Response-Model"),
    _Step("summarization", "X-LLM-Summarization-API-Key", "X-LLM-Summarization-Model"),
)
HEADERS = (API_KEY, MODEL, *(name for step in STEPS for name in (step.api_key, step.model)))


def _meta_name(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def _value(request, header: str, problems: dict[str, list[str]]) -> str:
    """The header's value ("" when absent or blank); a bad one is noted in ``problems`` without its value."""
    value = request.META.get(_meta_name(header), "").strip()
    if len(value) > VALUE_MAX_CHARS:
        problems[header] = [f"At most {VALUE_MAX_CHARS} characters."]
    elif value and not _TOKEN.fullmatch(value):
        problems[header] = ["Only printable characters, without spaces or control characters."]
    return value


def llm_headers(request) -> dict[str, str]:
    """The bring-your-own-model headers the request sent, by name; raises ValidationFailed (400 here) naming
    each bad one."""
    problems: dict[str, list[str]] = {}
    values = {header: _value(request, header, problems) for header in HEADERS}
    if problems:
        raise ValidationFailed(problems, message=_message(problems))
    return {header: value for header, value in values.items() if value}


def call_overrides(request) -> CallOverrides | None:
    """The request's own models by step, or None when it sent no bring-your-own-model header."""
    sent = llm_headers(request)
    if not sent:
        return None
    problems: dict[str, list[str]] = {}
    overrides: dict[str, ModelOverride | None] = {}
    for step in STEPS:
        key = sent.get(step.api_key) or sent.get(API_KEY, "")
        model = sent.get(step.model) or sent.get(MODEL, "")
        if model and not key:
            if step.model in sent:
                problems[step.model] = [f"A model needs a key: send {API_KEY} or {step.api_key}."]
            else:
                problems[MODEL] = [f"A model needs a key: send {API_KEY}."]
        overrides[step.field] = ModelOverride(api_key=key, model=model) if key else None
    if problems:
        raise ValidationFailed(problems, message=_message(problems))
    return CallOverrides(**overrides)


def _message(problems: dict[str, list[str]]) -> str:
    return "Invalid LLM header: " + "; ".join(f"{name}: {' '.join(notes)}" for name, notes in problems.items())
