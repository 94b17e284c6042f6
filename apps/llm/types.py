"""Plain data passed to and from providers, and the form of a credit amount."""

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
    """Where and how to call one model: resolved from the catalog or from the LLM_* settings."""

    name: str
    provider: str
    upstream_model: str
    base_url: str = ""
    api_key: str = ""
    timeout_seconds: float = 60.0
    max_tokens: int = 400
    context: dict[str, Any] = field(default_factory=dict)
    # The rate card: credits per 1,000 input (prompt) and output (completion) tokens.
    input_credits_per_1k: Decimal = Decimal(0)
    output_credits_per_1k: Decimal = Decimal(0)


@dataclass(frozen=True)
class ModelRate:
    """One line of the rate card: a model integrators can use and what its tokens cost in credits."""

    model: str
    provider: str
    input_credits_per_1k: Decimal
    output_credits_per_1k: Decimal
    max_tokens: int
    is_default: bool = False
