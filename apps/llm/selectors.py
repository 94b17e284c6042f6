"""Resolving a model name to a ModelSpec (chat) or an ImageModelSpec (images): the admin's catalog first,
then the LLM_* and IMAGE_* settings."""

import os
from dataclasses import replace
from decimal import Decimal

from django.conf import settings

from apps.core.generations import Generation, GenerationRead
from apps.llm.errors import ModelNotFound
from apps.llm.models import LLMModel

# Token counting is pure reading: it is offered here, beside the catalog it budgets for.
from apps.llm.tokens import message_tokens as message_tokens
from apps.llm.tokens import messages_tokens as messages_tokens
from apps.llm.tokens import prompt_budget as prompt_budget
from apps.llm.tokens import tokenizer_name as tokenizer_name
from apps.llm.tokens import tokens_count as tokens_count
from apps.llm.types import ImageModelSpec, ImageRate, ModelOverride, ModelRate, ModelSpec

# The active catalog rows (chat and image models), cached for every process until a catalog write bumps it
# (``services.llm_model_save``).
CATALOG = Generation("llm-catalog")


def _active_rows() -> list[LLMModel]:
    """Every active row of either type, by name; from the shared cache (one round trip), the database on a miss."""
    return CATALOG.get(lambda: list(LLMModel.objects.filter(is_active=True).order_by("name")))


def catalog_read() -> GenerationRead:
    """The cache read of the catalog, for ``core.generations.generations_read_ahead``."""
    return CATALOG.read()


def active_models() -> list[LLMModel]:
    """The catalog's active chat rows (``type=llm``), by name. Image rows are never chat models."""
    return [row for row in _active_rows() if row.type == LLMModel.Type.LLM]


def active_image_models() -> list[LLMModel]:
    """The catalog's active image rows (``type=sd``), by name; from the same cached read as the chat rows."""
    return [row for row in _active_rows() if row.type == LLMModel.Type.SD]


def _spec_from_row(row: LLMModel) -> ModelSpec:
    return ModelSpec(
        name=row.name,
        provider=row.provider,
        upstream_model=row.upstream_model or row.name,
        base_url=row.base_url or settings.LLM_BASE_URL,
        api_key=os.environ.get(row.api_key_env, "") if row.api_key_env else settings.LLM_API_KEY,
        timeout_seconds=row.timeout_seconds,
        max_tokens=row.max_tokens,
        context_tokens=row.context_tokens,
        input_credits_per_1k=row.prompt_credits_per_1k,
        output_credits_per_1k=row.completion_credits_per_1k,
    )


def _spec_from_settings(name: str) -> ModelSpec:
    provider = LLMModel.Provider.SCRIPTED if name == "scripted" else LLMModel.Provider.OPENAI_COMPATIBLE
    return ModelSpec(
        name=name,
        provider=provider,
        upstream_model=name,
        base_url=settings.LLM_BASE_URL,
        api_key=settings.LLM_API_KEY,
        timeout_seconds=settings.LLM_TIMEOUT_SECONDS,
        max_tokens=settings.LLM_MAX_TOKENS,
        input_credits_per_1k=Decimal(str(settings.LLM_INPUT_CREDITS_PER_1K)),
        output_credits_per_1k=Decimal(str(settings.LLM_OUTPUT_CREDITS_PER_1K)),
    )


def model_spec_get(*, name: str | None = None) -> ModelSpec:
    """The spec for ``name``, or for the default model: the catalog's default row, else ``LLM_CHAT_MODEL``.

    Raises ModelNotFound for a name that is neither in the catalog nor the configured default.
    """
    rows = active_models()
    if name:
        row = next((row for row in rows if row.name == name), None)
        if row is not None:
            return _spec_from_row(row)
        if name in {settings.LLM_CHAT_MODEL, "scripted"}:
            return _spec_from_settings(name)
        raise ModelNotFound(f"No active model is named '{name}'.")
    row = next((row for row in rows if row.is_default), None)
    return _spec_from_row(row) if row is not None else _spec_from_settings(settings.LLM_CHAT_MODEL)


def rate_card_list() -> list[ModelRate]:
    """Every model integrators can name, with its rates: the active catalog rows, then the models the
    LLM_* settings provide (the configured default and the offline ``scripted`` one) unless the catalog
    has a row of the same name."""
    rows = active_models()
    has_default_row = any(row.is_default for row in rows)
    rates = [
        ModelRate(
            model=row.name,
            provider=row.provider,
            input_credits_per_1k=row.prompt_credits_per_1k,
            output_credits_per_1k=row.completion_credits_per_1k,
            max_tokens=row.max_tokens,
            is_default=row.is_default,
        )
        for row in rows
    ]
    named = {row.name for row in rows}
    for name in dict.fromkeys([settings.LLM_CHAT_MODEL, "scripted"]):
        if name in named:
            continue
        spec = _spec_from_settings(name)
        rates.append(
            ModelRate(
                model=spec.name,
                provider=spec.provider,
                input_credits_per_1k=spec.input_credits_per_1k,
                output_credits_per_1k=spec.output_credits_per_1k,
                max_tokens=spec.max_tokens,
                is_default=not has_default_row and name == settings.LLM_CHAT_MODEL,
            )
        )
    return rates


def model_spec_override(*, spec: ModelSpec, override: ModelOverride | None) -> ModelSpec:
    """``spec`` as one request's ``override`` changes it: its own key (sent to ``LLM_BYOK_BASE_URL``, through
    the OpenAI-compatible client) and/or another upstream model. A call on the caller's own key costs the app
    no credits (its usage is still recorded) and is ``ephemeral``: made on a client of its own that nothing
    keeps. None: ``spec`` unchanged."""
    if override is None or not (override.api_key or override.model):
        return spec
    if not override.api_key:
        return replace(spec, upstream_model=override.model)
    model = override.model or (spec.upstream_model if spec.provider != LLMModel.Provider.SCRIPTED else "")
    model = model or settings.LLM_BYOK_DEFAULT_MODEL
    return replace(
        spec,
        name=f"byok:{model}",
        provider=LLMModel.Provider.OPENAI_COMPATIBLE,
        upstream_model=model,
        base_url=settings.LLM_BYOK_BASE_URL,
        api_key=override.api_key,
        input_credits_per_1k=Decimal(0),
        output_credits_per_1k=Decimal(0),
        ephemeral=True,
    )


def model_spec_byok(*, override: ModelOverride) -> ModelSpec:
    """A call on the caller's own key that no character's model shapes (checking the key): the override's
    model, else ``LLM_BYOK_DEFAULT_MODEL``, at ``LLM_BYOK_BASE_URL`` with the settings' timeout."""
    base = ModelSpec(
        name="byok",
        provider=LLMModel.Provider.SCRIPTED,  # no upstream model of its own: the override's or the default
        upstream_model="",
        timeout_seconds=settings.LLM_TIMEOUT_SECONDS,
    )
    return model_spec_override(spec=base, override=override)


def _image_spec_from_row(row: LLMModel) -> ImageModelSpec:
    """An image row's spec. Only the OpenAI-compatible images backend falls back to the LLM_* endpoint and key
    (it is the same kind of server); an AUTOMATIC1111 or ComfyUI server never receives the LLM key."""
    openai_like = row.provider == LLMModel.Provider.OPENAI_IMAGES
    default_key = settings.LLM_API_KEY if openai_like else ""
    api_key = os.environ.get(row.api_key_env, "") if row.api_key_env else default_key
    return ImageModelSpec(
        name=row.name,
        provider=row.provider,
        upstream_model=row.upstream_model or (row.name if openai_like else ""),
        base_url=row.base_url or (settings.LLM_BASE_URL if openai_like else ""),
        api_key=api_key,
        timeout_seconds=row.timeout_seconds,
        prompt_prefix=row.prompt_prefix,
        negative_prompt=row.negative_prompt,
        seed=row.seed,
        width=row.width,
        height=row.height,
        steps=row.steps,
        cfg_scale=row.cfg_scale,
        workflow=row.workflow or {},
        credits_per_image=row.credits_per_image,
    )


def _builtin_spec() -> ImageModelSpec:
    return ImageModelSpec(
        name="builtin",
        provider=LLMModel.Provider.BUILTIN,
        width=settings.IMAGE_WIDTH,
        height=settings.IMAGE_HEIGHT,
        credits_per_image=Decimal(str(settings.IMAGE_CREDITS_PER_IMAGE)),
    )


def image_model_spec_get(*, name: str | None = None) -> ImageModelSpec:
    """The image model ``name``, or the default one: the catalog's default image row, else ``IMAGE_MODEL``
    (a catalog image row's name, or ``builtin``: the offline renderer with the IMAGE_* size and rate).

    Raises ModelNotFound for a name that is neither an active image row nor ``builtin`` (a chat model's name
    is not an image model)."""
    rows = active_image_models()
    if not name:
        default = next((row for row in rows if row.is_default), None)
        if default is not None:
            return _image_spec_from_row(default)
    wanted = name or settings.IMAGE_MODEL
    row = next((row for row in rows if row.name == wanted), None)
    if row is not None:
        return _image_spec_from_row(row)
    if wanted == "builtin":
        return _builtin_spec()
    raise ModelNotFound(f"No active image model is named '{wanted}'.")


def image_rate_card_list() -> list[ImageRate]:
    """Every image model integrators' characters can draw with, and what a picture costs: the active image
    rows, then the built-in renderer (priced by IMAGE_CREDITS_PER_IMAGE) unless a row is named ``builtin``.
    ``is_default`` marks the one ``image_model_spec_get()`` picks."""
    try:
        default_name = image_model_spec_get().name
    except ModelNotFound:  # IMAGE_MODEL names no active row: nothing is drawn until the operator fixes it
        default_name = ""
    specs = [_image_spec_from_row(row) for row in active_image_models()]
    if not any(spec.name == "builtin" for spec in specs):
        specs.append(_builtin_spec())
    return [
        ImageRate(
            model=spec.name,
            provider=spec.provider,
            credits_per_image=spec.credits_per_image,
            width=spec.width,
            height=spec.height,
            is_default=spec.name == default_name,
        )
        for spec in specs
    ]
