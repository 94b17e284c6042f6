"""What a model call costs in credits, and the most it can cost (what a run reserves before calling).

Credits are exact decimals with six places (``types.credits_quantize``). The upper bound assumes at most one
token per two characters of prompt (English runs at about four; the offline ``scripted`` provider and
word-counting servers at fewer) plus a few tokens of framing per message, and that the server honours
``max_tokens`` for the reply.
"""

from decimal import Decimal

from apps.llm.types import ChatMessage, ModelSpec, credits_quantize

_TOKENS_PER_MESSAGE = 4  # role and separators


def credits_for(*, spec: ModelSpec, input_tokens: int, output_tokens: int) -> Decimal:
    """The cost of a call that used these tokens, at the model's rate."""
    raw = (
        Decimal(input_tokens) * spec.input_credits_per_1k + Decimal(output_tokens) * spec.output_credits_per_1k
    ) / 1000
    return credits_quantize(raw)


def input_tokens_upper_bound(messages: list[ChatMessage]) -> int:
    return sum((len(message.content) + 1) // 2 + _TOKENS_PER_MESSAGE for message in messages)


def credits_upper_bound(*, spec: ModelSpec, messages: list[ChatMessage]) -> Decimal:
    """The most a call with ``messages`` can cost: the amount to reserve before making it."""
    return credits_for(spec=spec, input_tokens=input_tokens_upper_bound(messages), output_tokens=spec.max_tokens)
