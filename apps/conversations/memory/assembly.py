"""Fitting a turn's prompt into its token budget, and laying it out as chat messages.

A prompt is a list of parts, each from one source. When the parts do not fit the budget, the lowest priority
goes first, one part at a time, until they fit:

1. ``persona`` (the character sheet) and ``instructions`` (a session's own system prompt): never trimmed;
2. ``lore``: entries the lorebooks activated (already within each book's own budget), the last first;
3. ``emotion``: the emotion engine's blocks for this turn;
4. ``block``: the integrator's pinned memory blocks, the last first;
5. ``fact``: the facts recalled for the message, the least relevant first;
6. ``summary``: the rolling summary of older messages;
7. ``history``: the recent messages, the oldest first; the newest message always stays.

Token counts are the parts' own (cached per text) plus the framing each message and heading adds, so the sum
can differ from a count of the joined prompt by a token or two per part; the budget's margin covers that.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from apps.llm.types import ChatMessage, Role

# Lower numbers are kept longer.
PRIORITY = {"persona": 0, "instructions": 0, "lore": 1, "emotion": 2, "block": 3, "fact": 4, "summary": 5, "history": 6}
_TRIM_ORDER = ("history", "summary", "fact", "block", "emotion", "lore")

# The scripted provider reads the facts under this heading: keep it stable.
FACTS_HEADING = "What you know about the user (from earlier conversations):"
SUMMARY_HEADING = "The story so far, in brief:"
BLOCKS_HEADING = "Notes you keep in mind:"
_TOKENS_PER_MESSAGE = 4
_TOKENS_PER_LINE = 1


@dataclass(frozen=True)
class Part:
    """One piece of a prompt. ``role`` matters for history (user / character / system); ``label`` names a block,
    a fact's id or a lore entry; ``position`` places lore before or after the character sheet."""

    source: str
    text: str
    tokens: int
    role: str = "system"
    label: str = ""
    cursor: int | None = None
    position: str = ""

    def as_trace(self) -> dict:
        return {"source": self.source, "text": self.text, "tokens": self.tokens}


@dataclass
class Fitted:
    kept: list[Part]
    trimmed: list[Part] = field(default_factory=list)
    used: int = 0
    budget: int = 0


def _grouped_overhead(parts: Sequence[Part], count_tokens: Callable[[str], int]) -> int:
    """The framing of the messages ``parts`` become: one message per history part and per lore position,
    one message each with a heading for the blocks, the facts and the summary."""
    overhead = 0
    sources = {part.source for part in parts}
    for source, heading in (("block", BLOCKS_HEADING), ("fact", FACTS_HEADING), ("summary", SUMMARY_HEADING)):
        if source in sources:
            overhead += _TOKENS_PER_MESSAGE + count_tokens(heading)
    overhead += _TOKENS_PER_MESSAGE * len({part.position for part in parts if part.source == "lore"})
    overhead += _TOKENS_PER_MESSAGE * sum(
        1 for part in parts if part.source in ("history", "persona", "instructions", "emotion")
    )
    overhead += _TOKENS_PER_LINE * sum(1 for part in parts if part.source in ("block", "fact", "lore"))
    return overhead + 3  # the reply's primer


def prompt_fit(*, parts: Sequence[Part], budget: int, count_tokens: Callable[[str], int]) -> Fitted:
    """Keep the parts that fit ``budget`` by priority (module docstring); the rest go to ``trimmed`` in the order
    they were cut. Parts come in prompt order within each source (facts best first, history oldest first)."""
    kept = list(parts)
    used = sum(part.tokens for part in kept) + _grouped_overhead(kept, count_tokens)
    trimmed: list[Part] = []
    if used <= budget:
        return Fitted(kept, trimmed, used, budget)
    newest = max((index for index, part in enumerate(kept) if part.source == "history"), default=None)
    protected = {id(kept[newest])} if newest is not None else set()
    for source in _TRIM_ORDER:
        candidates = [part for part in kept if part.source == source and id(part) not in protected]
        if source != "history":
            candidates.reverse()  # the last of a source goes first; history goes oldest first
        for part in candidates:
            if used <= budget:
                break
            kept.remove(part)
            trimmed.append(part)
            used = sum(item.tokens for item in kept) + _grouped_overhead(kept, count_tokens)
        if used <= budget:
            break
    return Fitted(kept, trimmed, used, budget)


_HISTORY_ROLES: dict[str, Role] = {"user": "user", "system": "system"}


def prompt_messages(parts: Sequence[Part]) -> list[ChatMessage]:
    """The chat messages of kept parts: lore meant before the sheet, the sheet, lore after it, the session's
    instructions, the emotion blocks, the pinned blocks, the facts, the summary, then the history."""
    by_source: dict[str, list[Part]] = {}
    for part in parts:
        by_source.setdefault(part.source, []).append(part)
    lore = by_source.get("lore", [])
    messages: list[ChatMessage] = []
    before = [part.text for part in lore if part.position == "before_char"]
    if before:
        messages.append(ChatMessage("system", "\n".join(before)))
    messages += [ChatMessage("system", part.text) for part in by_source.get("persona", [])]
    after = [part.text for part in lore if part.position != "before_char"]
    if after:
        messages.append(ChatMessage("system", "\n".join(after)))
    messages += [ChatMessage("system", part.text) for part in by_source.get("instructions", [])]
    messages += [ChatMessage("system", part.text) for part in by_source.get("emotion", [])]
    blocks = by_source.get("block", [])
    if blocks:
        lines = [BLOCKS_HEADING, *(f"[{part.label}] {part.text}" for part in blocks)]
        messages.append(ChatMessage("system", "\n".join(lines)))
    facts = by_source.get("fact", [])
    if facts:
        messages.append(ChatMessage("system", "\n".join([FACTS_HEADING, *(f"- {part.text}" for part in facts)])))
    for part in by_source.get("summary", []):
        messages.append(ChatMessage("system", f"{SUMMARY_HEADING}\n{part.text}"))
    for part in by_source.get("history", []):
        messages.append(ChatMessage(_HISTORY_ROLES.get(part.role, "assistant"), part.text))
    return messages
