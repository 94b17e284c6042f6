"""Appraising a message: by the configured LLM (JSON output) when a real provider is set up, otherwise
by the engine's deterministic lexicon.

``EMOTION_APPRAISER`` chooses: ``auto`` (the LLM when the appraisal model is served by a real provider,
the lexicon when it is the offline ``scripted`` one), ``llm`` or ``lexicon``. An LLM that fails, times
out or answers without the six dimensions never fails the turn: the lexicon answers instead and the
outcome says so (``source="lexicon_fallback"``).
"""

import json
import logging
from collections.abc import Callable

from django.conf import settings

from apps.core.errors import ApplicationError
from apps.llm import services as llm_services
from apps.llm.selectors import model_spec_get
from apps.llm.types import ChatMessage, ModelSpec
from apps.personas.engine import DIMENSIONS, Appraisal, Personality, appraise_text
from apps.personas.types import AppraisalOutcome

logger = logging.getLogger(__name__)

MAX_CONTEXT_CHARS = 2000

_INSTRUCTIONS = """You appraise events for a character's emotion engine (Scherer's appraisal checks).
Judge the user's latest message from the character's point of view and answer with one JSON object:
{"appraisal": {"goal_relevance": 0..1, "goal_congruence": -1..1, "expectedness": 0..1,
"controllability": 0..1, "agency": -1..1, "norm_compatibility": -1..1}}
goal_relevance: how much it matters to the character's goals. goal_congruence: helps (+) or hinders (-) them.
expectedness: how predictable it was. controllability: how much the character can influence it.
agency: who caused it, the character (+1) or someone else (-1). norm_compatibility: fits (+) or violates (-)
the character's values and social norms. Numbers only, no prose."""


def _character_sheet(personality: Personality) -> str:
    identity = personality.identity
    lines = [f"Character: {identity.name or 'unnamed'}"]
    if identity.role:
        lines.append(f"Role: {identity.role}")
    if identity.core_values:
        lines.append("Core values: " + ", ".join(identity.core_values))
    if personality.goals:
        lines.append("Goals: " + ", ".join(personality.goals))
    traits = personality.traits_dict()
    lines.append("Personality (0..1): " + ", ".join(f"{key} {value:.2f}" for key, value in traits.items()))
    return "\n".join(lines)


def appraisal_messages(*, text: str, personality: Personality, context: str = "") -> list[ChatMessage]:
    """The JSON-mode prompt asking a model for the six dimensions."""
    system = f"{_INSTRUCTIONS}\n\n{_character_sheet(personality)}"
    if context:
        system += f"\nSituation: {context[:MAX_CONTEXT_CHARS]}"
    return [ChatMessage("system", system), ChatMessage("user", text)]


def appraisal_from_model_data(data: object) -> Appraisal | None:
    """The six dimensions from a model's JSON (top level or under ``appraisal``), clamped into range.

    None when a dimension is missing or not a number: the caller falls back to the lexicon.
    """
    if isinstance(data, dict) and isinstance(data.get("appraisal"), dict):
        data = data["appraisal"]
    if not isinstance(data, dict):
        return None
    values: dict[str, float] = {}
    for name, (low, high) in DIMENSIONS.items():
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            return None
        values[name] = min(high, max(low, float(value)))
    return Appraisal(**values)


def appraisal_spec() -> ModelSpec | None:
    """The model that appraises messages, or None when the lexicon does (``EMOTION_APPRAISER``)."""
    mode = settings.EMOTION_APPRAISER
    if mode == "lexicon":
        return None
    spec = model_spec_get(name=settings.EMOTION_APPRAISAL_MODEL or None)
    if mode == "auto" and spec.provider == "scripted":
        return None
    return spec


def message_appraise(
    *,
    text: str,
    personality: Personality,
    context: str = "",
    before_call: Callable[[ModelSpec, list[ChatMessage]], None] | None = None,
) -> AppraisalOutcome:
    """Appraise ``text`` for ``personality``: by the LLM when one is configured (see module doc), else the lexicon.

    ``before_call(spec, messages)`` runs just before a model call (a metered caller reserves its credits
    there); what it raises propagates and no call is made. An outcome with a ``model`` made a call.
    """
    spec = appraisal_spec()
    if spec is None:
        return AppraisalOutcome(appraise_text(text, personality, personality.identity.language), "lexicon")
    messages = appraisal_messages(text=text, personality=personality, context=context)
    if before_call is not None:
        before_call(spec, messages)
    try:
        result = llm_services.chat_json(spec=spec, messages=messages)
    except ApplicationError as error:
        logger.warning("LLM appraisal failed, using the lexicon: %s", error)
        return AppraisalOutcome(appraise_text(text, personality), "lexicon_fallback", spec.name)
    appraisal = appraisal_from_model_data(result.data)
    if appraisal is None:
        logger.warning("LLM appraisal without the six dimensions, using the lexicon: %s", json.dumps(result.data)[:200])
        return AppraisalOutcome(appraise_text(text, personality), "lexicon_fallback", result.model, result.usage)
    return AppraisalOutcome(appraisal, "llm", result.model, result.usage)
