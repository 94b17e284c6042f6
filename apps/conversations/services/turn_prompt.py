"""Preparing a turn's prompt: the options a synchronous door may set, what one attempt gathers before its reply
call (``Turn``), the prompt built from the character sheet, the lore the recent messages activate, the emotion
blocks, the user's memory and the recent window, fitted into the model's token budget, and the context a run
records of it (``Run.context``)."""

import random
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings

from apps.accounts.types import UsagePurpose
from apps.characters import selectors as characters_selectors
from apps.conversations import prompts, selectors
from apps.conversations.memory.assembly import Fitted, Part, prompt_fit, prompt_messages
from apps.conversations.memory.recall import facts_rank
from apps.conversations.models import Run
from apps.conversations.services import metering
from apps.conversations.services.emotion import run_emotion_prepare
from apps.conversations.services.memory import TurnMemory, turn_memory_read
from apps.conversations.services.selfies import SelfieChance, selfie_chance
from apps.llm import selectors as llm_selectors
from apps.llm import services as llm_services
from apps.llm.types import ChatMessage, ChatResult, ModelSpec
from apps.personas.types import PersonaTurnPreview


@dataclass(frozen=True)
class TurnOptions:
    """How a turn run in a request's thread (the studio and OpenAI doors) differs from a worker's.

    ``model``: a catalog model for this turn only (else the session's, else the character's). ``history``: the
    caller's own conversation (the OpenAI door's request messages), used in the prompt instead of the log's.
    ``stream``: stream the reply even when no event stream listens. ``inline``: the caller waits for this one
    attempt, so a transient model error fails the run instead of queueing a retry nobody would hear.
    ``trace``: collect what the prompt was made of, the emotion state and the timings (``RunOutcome.trace``).

    None of these is stored: a run recovered from a dead request runs with the defaults."""

    model: str = ""
    history: tuple[ChatMessage, ...] | None = None
    stream: bool = False
    inline: bool = False
    trace: bool = False


WORKER = TurnOptions()


@dataclass
class Turn:
    """What one attempt has gathered before its reply call: the prompt, the emotion preview, and the model
    calls metered so far (each settled in the outcome's transaction, whether the turn succeeds or fails)."""

    spec: ModelSpec | None = None
    messages: list[ChatMessage] = field(default_factory=list)
    emotion: PersonaTurnPreview | None = None
    appraisal: metering.CallOutcome | None = None
    reply: metering.MeteredCall | None = None
    selfie: SelfieChance | None = None  # set when this turn may carry a selfie: the reply call answers JSON
    fitted: Fitted | None = None  # the prompt's parts as fitted into the token budget
    lore: characters_selectors.LoreActivation | None = (
        None  # the lorebook entries that fired, and the timed effects after them
    )
    fact_scores: dict[str, float] = field(default_factory=dict)  # recalled fact id -> relevance
    summary_due: bool = False  # the unsummarised history passed its budget: queue a summary with the reply

    def model_calls(self) -> int:
        return int(self.appraisal is not None)


def caller_history(history: tuple[ChatMessage, ...]) -> tuple[list[tuple[int | None, str, str]], str]:
    """A caller's own messages as the prompt's history, and its last user message as the text to appraise."""
    triples = [
        (None, "character" if message.role == "assistant" else message.role, message.content) for message in history
    ]
    trigger = next((message.content for message in reversed(history) if message.role == "user"), "")
    return triples, trigger


def _part(source: str, text: str, **fields: Any) -> Part:
    return Part(source, text, llm_selectors.tokens_count(text), **fields)


def _prompt_parts(
    run: Run, turn: Turn, memory: TurnMemory | None, history: list[tuple[int | None, str, str]], query: str
) -> list[Part]:
    """Every part the prompt could hold, by source, before the budget (``memory.assembly``)."""
    session = run.session
    initiate = None if run.kind == Run.Kind.REPLY else run.kind
    selfie = (turn.selfie.proactivity, turn.selfie.comfort) if turn.selfie is not None else None
    parts = [
        _part("persona", prompts.system_prompt(session.character_version.content, initiate=initiate, selfie=selfie))
    ]
    if session.system_prompt:
        parts.append(_part("instructions", session.system_prompt))
    books = session.character_version.content.get("lorebooks") or []
    if books:
        turn.lore = characters_selectors.lore_activate(
            books=books,
            messages=[characters_selectors.ScanMessage(role, text, cursor) for cursor, role, text in history],
            state=session.lore_state or {},
            turn=session.user_turn_count,
            count_tokens=llm_selectors.tokens_count,
            rng=random.Random(run.id),  # the same draws if this run is attempted again
        )
        parts += [
            Part(
                "lore", entry.content, entry.tokens, label=f"{entry.book_id}:{entry.entry_id}", position=entry.position
            )
            for entry in turn.lore.entries
        ]
    emotion = prompts.emotion_prompt(turn.emotion.prompt_data) if turn.emotion and turn.emotion.prompt_data else ""
    if emotion:
        parts.append(_part("emotion", emotion))
    if memory is not None:
        parts += [_part("block", block["value"], label=block["label"]) for block in memory.blocks if block.get("value")]
        texts = [text for _, text in memory.facts]
        for recalled in facts_rank(facts=texts, query=query, limit=settings.MEMORY_FACTS_PER_TURN):
            turn.fact_scores[memory.facts[recalled.index][0]] = recalled.score
            parts.append(_part("fact", texts[recalled.index], label=memory.facts[recalled.index][0]))
        if memory.summary:
            parts.append(_part("summary", memory.summary))
    parts += [_part("history", text, role=role, cursor=cursor) for cursor, role, text in history]
    return parts


def turn_prepare(run: Run, turn: Turn, options: TurnOptions) -> None:
    """Build the prompt and reserve the reply's credits: the model spec (from the shared catalog cache), the
    memory (the facts: one read, only when there are some), one read of the history after the memory's summary,
    the emotion preview (a model appraisal is reserved before its call and counted), then the prompt's parts
    fitted into the model's token budget."""
    session = run.session
    version = session.character_version
    turn.spec = llm_selectors.model_spec_get(name=options.model or session.model or version.content.get("model"))
    memory = turn_memory_read(session=session)
    if options.history is not None:
        history, trigger = caller_history(options.history)
    else:
        after = session.summarised_through if memory is not None else 0
        history, trigger = selectors.run_history(run=run, limit=settings.LLM_HISTORY_EVENTS, after=after)

    def appraisal_reserve(spec: ModelSpec, messages: list[ChatMessage]) -> None:
        reserved = metering.call_reserve(run=run, spec=spec, messages=messages, purpose=UsagePurpose.EMOTION_APPRAISAL)
        turn.appraisal = metering.CallOutcome(reserved, None, "failed")  # until the call answers

    turn.emotion = run_emotion_prepare(run=run, trigger_text=trigger, before_call=appraisal_reserve)
    if turn.appraisal is not None:
        answered = turn.emotion.appraisal_call if turn.emotion else None
        if answered is not None and answered.usage is not None:
            turn.appraisal = replace(turn.appraisal, usage=answered.usage, outcome="succeeded", model=answered.model)
    turn.selfie = selfie_chance(run=run)
    query = trigger or (history[-1][2] if history else "")
    parts = _prompt_parts(run, turn, memory, history, query)
    turn.fitted = prompt_fit(
        parts=parts, budget=llm_selectors.prompt_budget(turn.spec), count_tokens=llm_selectors.tokens_count
    )
    turn.messages = prompt_messages(turn.fitted.kept)
    if memory is not None and options.history is None and len(history) > settings.MEMORY_RECENT_MESSAGES:
        unsummarised = sum(part.tokens for part in parts if part.source == "history")
        turn.summary_due = (
            unsummarised > settings.MEMORY_SUMMARY_TRIGGER_TOKENS or len(history) >= settings.LLM_HISTORY_EVENTS
        )
    turn.reply = metering.run_usage_reserve(run=run, spec=turn.spec, messages=turn.messages)


def _lore_trace(entry: "characters_selectors.ActivatedEntry", fired: set[str]) -> dict[str, Any]:
    """One activated lorebook entry as the context shows it: which entry, why it fired, the key that matched
    and the message it matched in; ``in_prompt`` is false when the prompt's budget trimmed it after all."""
    return {
        "book": entry.book_name,
        "book_id": entry.book_id,
        "entry": entry.name or str(entry.entry_id),
        "entry_id": entry.entry_id,
        "content": entry.content,
        "position": entry.position,
        "tokens": entry.tokens,
        "reason": entry.reason,
        "key": entry.matched_key,
        "cursor": entry.matched_cursor,
        "excerpt": entry.matched_text,
        "in_prompt": f"{entry.book_id}:{entry.entry_id}" in fired,
    }


def turn_context(turn: Turn, result: ChatResult) -> dict[str, Any] | None:
    """What the reply's prompt was made of, for ``Run.context``: the parts kept and trimmed with their tokens, the
    facts recalled (with their relevance), the blocks, the summary and the budget. The provider's reported
    prompt tokens also teach the counts (``llm.services.usage_observe``)."""
    fitted = turn.fitted
    if fitted is None or turn.spec is None:
        return None
    reported = result.usage.prompt_tokens if result.usage is not None else 0
    llm_services.usage_observe(model=turn.spec.name, estimated=fitted.used, reported=reported)
    kept = fitted.kept
    summary = next((part for part in kept if part.source == "summary"), None)
    fired = {part.label for part in kept if part.source == "lore"}  # lore the prompt's budget kept
    lore_cut = turn.lore.trimmed if turn.lore else []  # lore its book's own budget cut
    return {
        "model": turn.spec.name,
        "tokenizer": llm_selectors.tokenizer_name(),
        "budget": {"limit": fitted.budget, "used": fitted.used, "reported": reported or None},
        "parts": [part.as_trace() for part in kept],
        "lore": [_lore_trace(entry, fired) for entry in (turn.lore.entries if turn.lore else [])],
        "facts": [
            {"id": part.label, "text": part.text, "score": turn.fact_scores.get(part.label, 0.0)}
            for part in kept
            if part.source == "fact"
        ],
        "blocks": [
            {"label": part.label, "value": part.text, "tokens": part.tokens} for part in kept if part.source == "block"
        ],
        "summary": {"text": summary.text, "tokens": summary.tokens} if summary is not None else None,
        "trimmed": [
            *(part.as_trace() for part in fitted.trimmed),
            *({"source": "lore", "text": entry.content, "tokens": entry.tokens} for entry in lore_cut),
        ],
    }
