"""Memory at run time: each end-user's memory row, what a turn reads from it, and the background summary that
folds a session's older messages into it (with the facts they state).

Memory is one row per (app, character, end-user), shared by all their sessions (``Session.memory``). A turn
reads it with the run (the summary and blocks come with the session's row) and its current facts in one more
query, only when there are some. When a turn finds more unsummarised history than
``MEMORY_SUMMARY_TRIGGER_TOKENS``, it queues ``memory_summarise`` after its commit; the summary never runs in a
reply's path. The integrator's reads and edits are ``memory_edits``.
"""

import json
import logging
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from apps.accounts.types import UsagePurpose
from apps.conversations.memory.assembly import Part, prompt_messages
from apps.conversations.memory.extraction import CurrentFact, FactChange, Message, facts_extract, summary_fold
from apps.conversations.memory.recall import facts_rank
from apps.conversations.models import Event, Memory, MemoryFact, Session
from apps.conversations.selectors.reads import MESSAGE_TYPES
from apps.conversations.services import metering
from apps.core import clock, executor
from apps.core.errors import ApplicationError
from apps.core.redis_cache import CACHE_UNREACHABLE
from apps.llm import selectors as llm_selectors
from apps.llm import services as llm_services
from apps.llm.errors import LLMUnusableJSON
from apps.llm.types import ChatMessage, ModelSpec

logger = logging.getLogger(__name__)

MEMORY_SUMMARISE_TASK = "apps.conversations.tasks.memory_summarise_task"
# Facts a turn reads at most (the newest); recall then picks the few relevant to the message.
FACTS_READ_LIMIT = 500
# Messages folded by one summary at most; a longer backlog queues the next summary at once.
FOLD_LIMIT = 200
_QUEUED_KEY = "memory-summary-queued:{}"
_QUEUED_SECONDS = 30


def memory_ensure(*, app_id: str, character_id: str, external_user_ref: str) -> str:
    """The id of the end-user's memory with the character, created on first need. One statement either way (an
    upsert that returns the id), and concurrent first needs make one row: the unique key decides."""
    now = clock.now()
    with connection.cursor() as cursor:
        # Plain SQL both backends accept: Django's bulk_create would not hand back the id of a row that existed.
        cursor.execute(
            f"INSERT INTO {Memory._meta.db_table} (id, app_id, character_id, external_user_ref, summary, blocks, "  # noqa: S608
            "fact_count, created_at, updated_at) VALUES (%s, %s, %s, %s, '', %s, 0, %s, %s) "
            "ON CONFLICT (app_id, character_id, external_user_ref) DO UPDATE SET updated_at = EXCLUDED.updated_at "
            "RETURNING id",
            [Memory._meta.pk.get_default(), app_id, character_id, external_user_ref, "[]", now, now],
        )
        return cursor.fetchone()[0]


def session_memory_attach(*, session: Session) -> Memory:
    """The session's memory, attached first when the session has none."""
    if session.memory_id is not None:
        return session.memory
    memory_id = memory_ensure(
        app_id=session.app_id, character_id=session.character_id, external_user_ref=session.external_user_ref
    )
    Session.objects.filter(pk=session.pk, memory__isnull=True).update(memory_id=memory_id)
    session.memory = Memory.objects.get(pk=memory_id)
    return session.memory


@dataclass(frozen=True)
class TurnMemory:
    """What a turn knows of the user: the summary, the pinned blocks and the current facts as (id, text)."""

    summary: str
    blocks: tuple[dict[str, Any], ...]
    facts: tuple[tuple[str, str], ...]


def turn_memory_read(*, session: Session) -> TurnMemory | None:
    """The session's memory for a prompt, or None when memory is off or the session has none. The memory row
    came with the session; the facts cost one query, only when there are some."""
    if not settings.MEMORY_ENABLED or session.memory_id is None:
        return None
    memory = session.memory
    facts: list[tuple[str, str]] = []
    if memory.fact_count:
        rows = MemoryFact.objects.filter(memory_id=memory.id, valid_to__isnull=True).order_by("-valid_from", "-id")
        facts = list(rows.values_list("id", "text")[:FACTS_READ_LIMIT])
        facts.reverse()
    return TurnMemory(memory.summary, tuple(memory.blocks or ()), tuple(facts))


def memory_summary_queue(*, session_id: str, final: bool = False) -> None:
    """Queue the session's summary after the current transaction commits, unless one was queued moments ago.
    ``final``: the session is over (an NPC machine completed), so its newest messages fold in too."""
    try:
        due = final or cache.add(_QUEUED_KEY.format(session_id), 1, timeout=_QUEUED_SECONDS)
    except CACHE_UNREACHABLE:
        due = False  # Redis is down, so the broker is too: a later turn queues it (the turn must not fail for it)
    if due:
        transaction.on_commit(lambda: executor.submit(MEMORY_SUMMARISE_TASK, session_id, final))


def npc_memory_queue(*, session: Session, appended: int, final: bool) -> None:
    """After an NPC turn appended ``appended`` events: fold the playthrough into the player's memory when its
    machine completed (``final``), or when its unsummarised messages pass twice the window kept verbatim."""
    if session.memory_id is None or not settings.MEMORY_ENABLED:
        return
    backlog = session.last_cursor + appended - session.summarised_through
    if final or backlog > 2 * settings.MEMORY_RECENT_MESSAGES:
        memory_summary_queue(session_id=session.id, final=final)


def memory_messages(*, memory: TurnMemory, query: str) -> list[ChatMessage]:
    """The memory as system messages for a prompt that is not a character turn's (an NPC's reply): the pinned
    blocks, the facts relevant to ``query`` and the summary, laid out as a turn lays them out."""
    parts = [Part("block", block["value"], 0, label=block["label"]) for block in memory.blocks if block.get("value")]
    texts = [text for _, text in memory.facts]
    parts += [
        Part("fact", texts[recalled.index], 0)
        for recalled in facts_rank(facts=texts, query=query, limit=settings.MEMORY_FACTS_PER_TURN)
    ]
    if memory.summary:
        parts.append(Part("summary", memory.summary, 0))
    return prompt_messages(parts)


@dataclass(frozen=True)
class SummaryOutcome:
    status: str  # "summarised", "nothing_to_do", "superseded", "failed"
    folded: int = 0
    changes: int = 0
    more: bool = False  # a backlog remains: summarise again


def _extractor(spec: ModelSpec) -> str:
    mode = settings.MEMORY_EXTRACTOR
    if mode == "auto":
        return "offline" if spec.provider == "scripted" else "model"
    return mode


_INSTRUCTIONS = (
    "You keep {name}'s long-term memory of one user. You are given the summary so far, the facts on record (with "
    "their ids) and the newest messages of a conversation. Answer with one JSON object only: "
    '{{"summary": "<the summary so far, brought up to date with the new messages, in the third person, at most '
    '{words} words>", "facts": [{{"op": "add", "text": "<one durable fact about the user, one sentence>"}}, '
    '{{"op": "update", "id": "<a fact id>", "text": "<what it is now>"}}, {{"op": "delete", "id": "<a fact id '
    'that is no longer true>"}}]}}. Record only what the user said about themselves, their life and the people '
    "in it; nothing about {name}; no fact already on record."
)


def _model_changes(
    session: Session, spec: ModelSpec, summary: str, facts: list[CurrentFact], messages: list[Message]
) -> tuple[str | None, list[FactChange], metering.CallOutcome]:
    """One metered JSON call: the new summary and the fact changes. Unknown fact ids and malformed ops are
    dropped (logged); an answer with no summary keeps the old one. An answer that is not JSON at all gives
    None for the summary (fold it offline) and the offline extractor's changes."""
    name = session.character_version.content.get("display_name", "the character")
    words = max(40, int(settings.MEMORY_SUMMARY_MAX_TOKENS * 0.7))
    payload = {
        "summary": summary,
        "facts": [{"id": fact.id, "text": fact.text} for fact in facts],
        "messages": [{"role": message.role, "text": message.text} for message in messages],
    }
    prompt = [
        ChatMessage("system", _INSTRUCTIONS.format(name=name, words=words)),
        ChatMessage("user", json.dumps(payload, ensure_ascii=False)),
    ]
    reserved = metering.session_call_reserve(
        session=session, spec=spec, messages=prompt, purpose=UsagePurpose.MEMORY_SUMMARY
    )
    try:
        result = llm_services.chat_json(spec=spec, messages=prompt)
    except LLMUnusableJSON as error:
        # Prose instead of the JSON asked for: the call is paid for, and the offline extractor folds instead,
        # so a model that cannot answer JSON still lets the summary move on.
        answered = error.result
        usage = answered.usage if answered is not None else None
        outcome = metering.CallOutcome(reserved, usage, "succeeded" if usage else "failed")
        logger.info("Memory extraction for session %s got no JSON; folding offline.", session.id)
        return None, facts_extract(messages=messages, current=facts), outcome
    except ApplicationError:
        with transaction.atomic():
            metering.calls_settle(outcomes=[metering.CallOutcome(reserved, None, "failed")])
        raise
    outcome = metering.CallOutcome(reserved, result.usage, "succeeded", result.model)
    data = result.data if isinstance(result.data, dict) else {}
    new_summary = data.get("summary") if isinstance(data.get("summary"), str) else summary
    new_summary = new_summary.strip() or summary
    known = {fact.id for fact in facts}
    cursor = messages[-1].cursor if messages else None
    changes: list[FactChange] = []
    for item in data.get("facts") or []:
        if not isinstance(item, dict):
            continue
        op, text, fact_id = item.get("op"), str(item.get("text") or "").strip()[:500], str(item.get("id") or "")
        if op == "add" and text:
            changes.append(FactChange("add", text=text, cursor=cursor))
        elif op == "update" and text and fact_id in known:
            changes.append(FactChange("update", text=text, fact_id=fact_id, cursor=cursor))
        elif op == "delete" and fact_id in known:
            changes.append(FactChange("delete", fact_id=fact_id, cursor=cursor))
        else:
            logger.info("Memory extraction for session %s dropped an unusable change: %r", session.id, item)
    return new_summary, changes, outcome


def _changes_apply(memory: Memory, session: Session, changes: list[FactChange]) -> None:
    now = clock.now()
    closing = [change.fact_id for change in changes if change.op in ("update", "delete") and change.fact_id]
    if closing:
        MemoryFact.objects.filter(memory=memory, pk__in=closing, valid_to__isnull=True).update(
            valid_to=now, updated_at=now
        )
    added = [
        MemoryFact(
            memory=memory,
            text=change.text,
            key=change.key,
            source_session=session,
            source_cursor=change.cursor,
            valid_from=now,
        )
        for change in changes
        if change.op in ("add", "update") and change.text
    ]
    MemoryFact.objects.bulk_create(added)


def memory_summarise(*, session_id: str, final: bool = False) -> SummaryOutcome:
    """Fold the session's older messages (all but the newest ``MEMORY_RECENT_MESSAGES``) into its memory: the
    summary brought up to date and the facts they state, by the model (one metered JSON call, outside any
    transaction) or by the offline extractor (``MEMORY_EXTRACTOR``).

    ``final`` folds the newest messages too (the session is over: an NPC's machine completed). Safe to run twice
    at once: the write is fenced on the session's ``summarised_through``, so one fold wins and
    the other writes nothing."""
    session = Session.objects.select_related("memory", "character_version").filter(pk=session_id).first()
    if session is None or not settings.MEMORY_ENABLED:
        return SummaryOutcome("nothing_to_do")
    memory = session_memory_attach(session=session)
    start = session.summarised_through
    keep = 0 if final else settings.MEMORY_RECENT_MESSAGES
    rows = list(
        Event.objects.filter(session_id=session.id, event_type__in=MESSAGE_TYPES, cursor__gt=start)
        .order_by("cursor")
        .values_list("cursor", "role", "payload")[: FOLD_LIMIT + keep]
    )
    messages = [Message(cursor, role, payload.get("text", "")) for cursor, role, payload in rows]
    if len(messages) <= keep or not messages:
        return SummaryOutcome("nothing_to_do")
    fold = messages[: len(messages) - keep]
    current = [
        CurrentFact(fact_id, key, text)
        for fact_id, key, text in MemoryFact.objects.filter(memory=memory, valid_to__isnull=True)
        .order_by("valid_from", "id")
        .values_list("id", "key", "text")[:FACTS_READ_LIMIT]
    ]
    spec = llm_selectors.model_spec_get(name=session.model or session.character_version.content.get("model"))
    outcomes: list[metering.CallOutcome] = []
    if _extractor(spec) == "offline":
        changes = facts_extract(messages=fold, current=current)
        summary = None  # folded under the lock, from the summary as it is then
    else:
        summary, changes, outcome = _model_changes(session, spec, memory.summary, current, fold)
        outcomes.append(outcome)
    with transaction.atomic():
        if outcomes:
            metering.calls_settle(outcomes=outcomes)
        advanced = Session.objects.filter(pk=session.id, summarised_through=start).update(
            summarised_through=fold[-1].cursor
        )
        if not advanced:
            return SummaryOutcome("superseded")
        locked = Memory.objects.select_for_update().get(pk=memory.pk)
        if summary is None:
            summary = summary_fold(
                summary=locked.summary,
                messages=fold,
                max_tokens=settings.MEMORY_SUMMARY_MAX_TOKENS,
                count_tokens=llm_selectors.tokens_count,
            )
        _changes_apply(locked, session, changes)
        current_count = MemoryFact.objects.filter(memory=locked, valid_to__isnull=True).count()
        Memory.objects.filter(pk=locked.pk).update(
            summary=summary, summary_updated_at=clock.now(), fact_count=current_count, updated_at=clock.now()
        )
    with suppress(*CACHE_UNREACHABLE):  # the mark expires by itself
        cache.delete(_QUEUED_KEY.format(session_id))
    more = len(rows) == FOLD_LIMIT + keep
    return SummaryOutcome("summarised", folded=len(fold), changes=len(changes), more=more)
