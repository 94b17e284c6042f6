"""Plain data passed to and from providers, a model's rate card and what a call costs, and the form of a credit
amount."""

import json
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]

CREDIT_QUANTUM = Decimal("0.000001")  # credits are exact decimals with six places


def credits_quantize(value: Decimal) -> Decimal:
    """A credit amount rounded (half up) to the six places the ledger keeps."""
    return value.quantize(CREDIT_QUANTUM, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ChatResult:
    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    data: Any = None  # parsed JSON for chat_json


@dataclass(frozen=True)
class ModelSpec:
    """Where and how to call one model: resolved from the catalog or from the LLM_* settings.

    ``ephemeral``: the key is the caller's own, for one request (``selectors.model_spec_override``): the
    provider makes the call on a client of its own, closed after it, so no pool or cache keeps the key; and
    the key is never in ``repr`` (a spec in a log line or a traceback does not carry it)."""

    name: str
    provider: str
    upstream_model: str
    base_url: str = ""
    api_key: str = field(default="", repr=False)
    timeout_seconds: float = 60.0
    max_tokens: int = 400
    context_tokens: int = 0  # the model's context window in tokens; 0: LLM_CONTEXT_TOKENS
    context: dict[str, Any] = field(default_factory=dict)
    # The rate card: credits per 1,000 input (prompt) and output (completion) tokens.
    input_credits_per_1k: Decimal = Decimal(0)
    output_credits_per_1k: Decimal = Decimal(0)
    ephemeral: bool = False

    def credits_for(self, *, input_tokens: int, output_tokens: int) -> Decimal:
        """The cost of a call that used these tokens, at this model's rate."""
        raw = (
            Decimal(input_tokens) * self.input_credits_per_1k + Decimal(output_tokens) * self.output_credits_per_1k
        ) / 1000
        return credits_quantize(raw)

    def credits_upper_bound(self, messages: list[ChatMessage]) -> Decimal:
        """The most a call with ``messages`` can cost: what a run reserves before making it. It assumes the
        server honours ``max_tokens`` for the reply (see ``input_tokens_upper_bound`` for the prompt)."""
        return self.credits_for(input_tokens=input_tokens_upper_bound(messages), output_tokens=self.max_tokens)


@dataclass(frozen=True)
class ModelRate:
    """One line of the rate card: a model integrators can use and what its tokens cost in credits."""

    model: str
    provider: str
    input_credits_per_1k: Decimal
    output_credits_per_1k: Decimal
    max_tokens: int
    is_default: bool = False


_TOKENS_PER_MESSAGE = 4  # role and separators


def input_tokens_upper_bound(messages: list[ChatMessage]) -> int:
    """At most one token per two characters of prompt (English runs at about four; the offline ``scripted``
    provider and word-counting servers at fewer), plus a few tokens of framing per message."""
    return sum((len(message.content) + 1) // 2 + _TOKENS_PER_MESSAGE for message in messages)


@dataclass(frozen=True)
class ModelOverride:
    """A model the caller brings for one request (its own provider key, or another model name): used for that
    request's calls only, never stored and never logged (the key is left out of ``repr``)."""

    api_key: str = field(default="", repr=False)
    model: str = ""


@dataclass(frozen=True)
class CallOverrides:
    """The overrides of one request, by step: the NPC evaluation, the reply, and the summarisation (output
    variables). None: the character's own model."""

    evaluation: ModelOverride | None = None
    reply: ModelOverride | None = None
    summarization: ModelOverride | None = None


@dataclass(frozen=True)
class ImageModelSpec:
    """Where and how to draw with one image model (the catalog's ``type=sd`` rows, or the built-in renderer):
    the backend (``provider``), its server, and the model's defaults for every picture it draws."""

    name: str
    provider: str  # builtin | automatic1111 | comfyui | openai_images
    upstream_model: str = ""
    base_url: str = ""
    api_key: str = field(default="", repr=False)
    timeout_seconds: float = 120.0
    prompt_prefix: str = ""
    negative_prompt: str = ""
    seed: int | None = None  # None: a fresh seed per picture
    width: int = 512
    height: int = 512
    steps: int = 28  # sampler steps (AUTOMATIC1111, ComfyUI)
    cfg_scale: float = 7.0  # prompt guidance (AUTOMATIC1111, ComfyUI)
    workflow: dict[str, Any] = field(default_factory=dict)  # ComfyUI: the API-format workflow template
    credits_per_image: Decimal = Decimal(0)


@dataclass(frozen=True)
class ImageRate:
    """One image line of the rate card: an image model and what one picture costs in credits."""

    model: str
    provider: str
    credits_per_image: Decimal
    width: int
    height: int
    is_default: bool = False


# The placeholders a ComfyUI workflow template may hold, in any string input of any node. A value that is
# exactly one placeholder becomes the typed value (a number for seed, width, height, steps, cfg, denoise);
# inside a longer string it is written in as text. ``{{prompt}}`` is required; ``{{reference_image}}``
# (a LoadImage node's ``image``) makes the backend upload the identity image first.
COMFYUI_PLACEHOLDERS = (
    "prompt",
    "negative_prompt",
    "seed",
    "width",
    "height",
    "steps",
    "cfg",
    "denoise",
    "reference_image",
)
COMFYUI_REQUIRED_PLACEHOLDERS = ("prompt",)
PLACEHOLDER_PATTERN = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
IMAGE_SIDE_RANGE = (64, 4096)


def workflow_placeholders(workflow) -> set[str]:
    """The placeholder names used anywhere in a workflow template's strings."""
    return set(PLACEHOLDER_PATTERN.findall(json.dumps(workflow)))


@dataclass(frozen=True)
class KeyCheck:
    """Whether the provider took a caller's own key: the model that answered, or why it refused (never the
    key itself)."""

    valid: bool
    model: str
    error: str = ""
