"""Executing runs: the asynchronous half of a turn, and recovering runs whose worker vanished."""

import logging
import time
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from apps.accounts.types import UsagePurpose
from apps.conversations import prompts, selectors
from apps.conversations.bubbles import bubbles_split
from apps.conversations.errors import RunAbandoned
from apps.conversations.memory.assembly import Fitted, Part, prompt_fit, prompt_messages
from apps.conversations.memory.recall import facts_rank
from apps.conversations.models import Event, Run
from apps.conversations.proactive_rules import reply_payload
from apps.conversations.services import metering
from apps.conversations.services.deltas import DeltaPublisher, delta_listening
from apps.conversations.services.emotion import run_emotion_commit, run_emotion_prepare
from apps.conversations.services.events import NewEvent, events_append, session_cursor_advance
from apps.conversations.services.memory import TurnMemory, memory_summary_queue, turn_memory_read
from apps.conversations.services.proactive_scheduling import proactive_reschedule
from apps.conversations.services.run_trace import run_trace
from apps.conversations.services.selfies import (
    SelfieChance,
    selfie_chance,
    selfie_draw_queue,
    selfie_events,
    selfie_reply_read,
)
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.llm import selectors as llm_selectors
from apps.llm import services as llm_services
from apps.llm.errors import LLMTransientError, LLMUnusableJSON
from apps.llm.types import ChatMessage, ChatResult, ModelSpec
from apps.personas.types import PersonaTurnPreview

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOutcome:
    """What became of one execution attempt. ``retry_in`` is set when the run should be dispatched again.

    A succeeded attempt also carries the character's ``reply`` (the public dict of its ``message.created``) and
    the reply call's ``result``; a failed one its ``error``; ``trace`` is set when the options asked for it."""

    run_id: str
    status: str
    retry_in: float | None = None
    reply: dict[str, Any] | None = None
    result: ChatResult | None = None
    error: ApplicationError | None = None
    trace: dict[str, Any] | None = None


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


def _claim(run_id: str) -> int | None:
    """Take the run if it is due (queued) or abandoned (lease expired); return the new attempt number."""
    now = clock.now()
    table = Run._meta.db_table
    # One statement, so autocommit makes it atomic; a transaction block would only add BEGIN and COMMIT round trips.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = 'running', attempts = attempts + 1, lease_expires_at = %s, "  # noqa: S608
            f"started_at = COALESCE(started_at, %s), updated_at = %s "
            f"WHERE id = %s AND ((status = 'queued' AND available_at <= %s) "
            f"OR (status = 'running' AND lease_expires_at < %s)) RETURNING attempts",
            [now + timedelta(seconds=settings.RUN_LEASE_SECONDS), now, now, run_id, now, now],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _fenced(run_id: str, attempt: int):
    """The run row, only while this attempt still owns it."""
    return Run.objects.filter(pk=run_id, status=Run.Status.RUNNING, attempts=attempt)


@dataclass
class _Turn:
    """What one attempt has gathered before its reply call: the prompt, the emotion preview, and the model
    calls metered so far (each settled in the outcome's transaction, whether the turn succeeds or fails)."""

    spec: ModelSpec | None = None
    messages: list[ChatMessage] = field(default_factory=list)
    emotion: PersonaTurnPreview | None = None
    appraisal: metering.CallOutcome | None = None
    reply: metering.MeteredCall | None = None
    selfie: SelfieChance | None = None  # set when this turn may carry a selfie: the reply call answers JSON
    fitted: Fitted | None = None  # the prompt's parts as fitted into the token budget
    fact_scores: dict[str, float] = field(default_factory=dict)  # recalled fact id -> relevance
    summary_due: bool = False  # the unsummarised history passed its budget: queue a summary with the reply

    def model_calls(self) -> int:
        return int(self.appraisal is not None)


def _caller_history(history: tuple[ChatMessage, ...]) -> tuple[list[tuple[int | None, str, str]], str]:
    """A caller's own messages as the prompt's history, and its last user message as the text to appraise."""
    triples = [
        (None, "character" if message.role == "assistant" else message.role, message.content) for message in history
    ]
    trigger = next((message.content for message in reversed(history) if message.role == "user"), "")
    return triples, trigger


def _part(source: str, text: str, **fields: Any) -> Part:
    return Part(source, text, llm_selectors.tokens_count(text), **fields)


def _prompt_parts(
    run: Run, turn: _Turn, memory: TurnMemory | None, history: list[tuple[int | None, str, str]], query: str
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


def _prepare(run: Run, turn: _Turn, options: TurnOptions) -> None:
    """Build the prompt and reserve the reply's credits: the model spec (from the shared catalog cache), the
    memory (the facts: one read, only when there are some), one read of the history after the memory's summary,
    the emotion preview (a model appraisal is reserved before its call and counted), then the prompt's parts
    fitted into the model's token budget."""
    session = run.session
    version = session.character_version
    turn.spec = llm_selectors.model_spec_get(name=options.model or session.model or version.content.get("model"))
    memory = turn_memory_read(session=session)
    if options.history is not None:
        history, trigger = _caller_history(options.history)
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


def _outcome_write(run: Run, events: list[NewEvent], outcomes: list[metering.CallOutcome]) -> list[Event]:
    """The rest of an outcome's transaction, after the fenced run UPDATE: settle the calls, append the events
    (and the budget warnings) in one go, and keep the proactive due time when the session has one."""
    warnings = metering.run_usage_settle(run=run, outcomes=outcomes)
    advanced = session_cursor_advance(
        session_id=run.session_id,
        count=len(events) + len(warnings),
        character_version_id=run.session.character_version_id,  # the version this turn ran on
    )
    rows = events_append(session_id=run.session_id, events=[*events, *warnings], last_cursor=advanced.last_cursor)
    if advanced.proactive_enabled:  # read under the session's lock, so a switch flipped mid-turn is seen
        proactive_reschedule(session_id=run.session_id)
    return rows


_CONTEXT_FIELD = Run._meta.get_field("context")


def _context(turn: _Turn, result: ChatResult) -> dict[str, Any] | None:
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
    return {
        "model": turn.spec.name,
        "tokenizer": llm_selectors.tokenizer_name(),
        "budget": {"limit": fitted.budget, "used": fitted.used, "reported": reported or None},
        "parts": [part.as_trace() for part in kept],
        "lore": [],
        "facts": [
            {"id": part.label, "text": part.text, "score": turn.fact_scores.get(part.label, 0.0)}
            for part in kept
            if part.source == "fact"
        ],
        "blocks": [
            {"label": part.label, "value": part.text, "tokens": part.tokens} for part in kept if part.source == "block"
        ],
        "summary": {"text": summary.text, "tokens": summary.tokens} if summary is not None else None,
        "trimmed": [part.as_trace() for part in fitted.trimmed],
    }


def _finish_success(run: Run, attempt: int, turn: _Turn, result: ChatResult, latency_ms: int) -> dict | None:
    """Write the reply in one transaction: the fenced run UPDATE, the emotion step, the reply and emotion
    events, the settled usage and (for proactive sessions) the next due time."""
    with transaction.atomic():
        now = clock.now()
        with connection.cursor() as cursor:
            # Plain SQL like the claim: this fenced UPDATE runs once per turn, and compiling it through the ORM
            # cost more CPU than PostgreSQL spends running it.
            cursor.execute(
                f"UPDATE {Run._meta.db_table} SET status = %s, model = %s, model_calls = %s, "  # noqa: S608
                f"prompt_tokens = %s, completion_tokens = %s, latency_ms = %s, finished_at = %s, updated_at = %s, "
                f"character_version_id = %s, context = %s WHERE id = %s AND status = %s AND attempts = %s",
                [
                    Run.Status.SUCCEEDED.value,
                    result.model,
                    run.model_calls + turn.model_calls() + 1,
                    result.usage.prompt_tokens,
                    result.usage.completion_tokens,
                    latency_ms,
                    now,
                    now,
                    run.session.character_version_id,
                    _CONTEXT_FIELD.get_db_prep_value(_context(turn, result), connection),
                    run.id,
                    Run.Status.RUNNING.value,
                    attempt,
                ],
            )
            updated = cursor.rowcount
        if not updated:
            return None  # another worker took the run over; its answer is the only one
        text, wish = selfie_reply_read(result) if turn.selfie is not None else (result.text, None)
        text = text.strip()
        payload = {
            "text": text,
            "bubbles": bubbles_split(text),
            "run_ref": run.id,
            "reply_to_cursor": run.trigger_cursor,
        }
        skipped: list[NewEvent] = []
        selfie = None
        if wish is not None and turn.selfie is not None:
            skipped, selfie = selfie_events(run=run, chance=turn.selfie, wish=wish)
            if selfie is not None:
                payload["selfie"] = selfie
        payload = reply_payload(kind=run.kind, run_id=run.id, payload=payload)
        reply = NewEvent("message.created", payload, "character", run.id)
        outcomes = [item for item in (turn.appraisal,) if item is not None]
        outcomes.append(metering.CallOutcome(turn.reply, result.usage, "succeeded", result.model))
        rows = _outcome_write(run, [reply, *run_emotion_commit(run=run, emotion=turn.emotion), *skipped], outcomes)
        if selfie is not None:
            selfie_draw_queue(image_id=selfie["image_id"])
        if turn.summary_due:
            memory_summary_queue(session_id=run.session_id)
    return rows[0].as_public_dict()


def _finish_failure(run: Run, attempt: int, error: ApplicationError, calls: int, turn: _Turn | None = None) -> bool:
    with transaction.atomic():
        updated = _fenced(run.id, attempt).update(
            status=Run.Status.FAILED,
            model_calls=calls,
            error_code=error.code,
            error_message=error.message[:2000],
            finished_at=clock.now(),
            updated_at=clock.now(),
            character_version_id=run.session.character_version_id,
        )
        if not updated:
            return False
        payload = {"run_ref": run.id, "code": error.code, "message": error.message, "retryable": False}
        outcomes = []
        if turn is not None:
            outcomes = [item for item in (turn.appraisal,) if item is not None]
            if turn.reply is not None:
                outcomes.append(metering.CallOutcome(turn.reply, None, "failed"))
        _outcome_write(run, [NewEvent("run.failed", payload, run_id=run.id)], outcomes)
    return True


def _schedule_retry(run: Run, attempt: int, calls: int) -> float | None:
    backoff = settings.RUN_RETRY_BACKOFF_SECONDS * (2 ** (attempt - 1))
    updated = _fenced(run.id, attempt).update(
        status=Run.Status.QUEUED,
        model_calls=calls,
        available_at=clock.now() + timedelta(seconds=backoff),
        lease_expires_at=None,
        updated_at=clock.now(),
    )
    return backoff if updated else None


def _reply_call(turn: _Turn) -> ChatResult:
    """The turn's reply call: plain text, or (when a selfie is possible) a JSON object whose ``selfie`` field is
    the decision. An answer that is not the JSON asked for is kept as the reply text, never a failed turn."""
    if turn.selfie is None:
        return llm_services.chat(spec=turn.spec, messages=turn.messages)
    try:
        return llm_services.chat_json(spec=turn.spec, messages=turn.messages)
    except LLMUnusableJSON as error:
        if error.result is None:
            raise
        return error.result


def _reply_streamed(turn: _Turn, listeners: DeltaPublisher | None) -> Generator[str, None, ChatResult]:
    """The reply call as a token stream: each delta goes to the caller and, when given, to the session's
    listeners (``message.delta``). A turn that may carry a selfie answers JSON, which is not streamed: its
    text is known whole, at the end, and the caller gets it as one delta."""
    if turn.selfie is not None:
        result = _reply_call(turn)
        return result
    stream = llm_services.ChatStream(turn.spec, turn.messages)
    for delta in stream:
        if listeners is not None:
            listeners.add(delta)
        yield delta
    if listeners is not None:
        listeners.flush()
    assert stream.result is not None
    return stream.result


def run_steps(*, run_id: str, options: TurnOptions = WORKER) -> Generator[str, None, RunOutcome]:
    """One attempt of a run, as a generator: it yields the reply's text deltas while the model streams them
    (only when the options ask for a stream or an event stream listens to the session; else it yields
    nothing) and returns the RunOutcome. ``run_execute`` drives it to the end; a surface that answers in the
    request drives it itself and forwards the deltas."""
    attempt = _claim(run_id)
    if attempt is None:
        return RunOutcome(run_id, "skipped")
    run = selectors.run_for_execution(run_id=run_id)
    if attempt > settings.RUN_MAX_ATTEMPTS:
        # Only a lease-expiry reclaim gets here: earlier attempts died mid-turn. A turn that kills its worker
        # every time must end in run.failed instead of being reclaimed forever.
        abandoned = RunAbandoned(f"The turn was abandoned by its worker {attempt - 1} times.")
        _finish_failure(run, attempt, abandoned, run.model_calls)
        return RunOutcome(run_id, "failed", error=abandoned)
    turn = _Turn()
    clock_started = time.monotonic()
    try:
        _prepare(run, turn, options)
    except ApplicationError as error:  # e.g. a model the catalog no longer has, or no budget left (no call made)
        _finish_failure(run, attempt, error, run.model_calls + turn.model_calls(), turn)
        return RunOutcome(run_id, "failed", error=error)
    calls = run.model_calls + turn.model_calls() + 1
    started = time.monotonic()
    # The caller (a synchronous door) may stream for itself; the session's event streams hear the deltas too,
    # but only while one listens (a publish per delta frame is wasted on a session nobody watches).
    listening = delta_listening(session_id=run.session_id)
    listeners = DeltaPublisher(session_id=run.session_id, run_id=run_id) if listening else None
    try:
        if options.stream or listening:
            result = yield from _reply_streamed(turn, listeners)
        else:
            result = _reply_call(turn)
    except LLMTransientError as error:
        if attempt < settings.RUN_MAX_ATTEMPTS and not options.inline:
            logger.info("Run %s attempt %s failed transiently: %s", run_id, attempt, error.message)
            retry_in = _schedule_retry(run, attempt, calls)
            return RunOutcome(run_id, "queued", retry_in=retry_in)
        _finish_failure(run, attempt, error, calls, turn)
        return RunOutcome(run_id, "failed", error=error)
    except ApplicationError as error:
        _finish_failure(run, attempt, error, calls, turn)
        return RunOutcome(run_id, "failed", error=error)
    latency_ms = int((time.monotonic() - started) * 1000)
    reply = _finish_success(run, attempt, turn, result, latency_ms)
    if reply is None:
        return RunOutcome(run_id, "superseded")
    trace = None
    if options.trace:
        timings = {"prepare_ms": round((started - clock_started) * 1000, 1), "model_ms": latency_ms}
        trace = run_trace(run=run, turn=turn, timings=timings)
    return RunOutcome(run_id, "succeeded", reply=reply, result=result, trace=trace)


def run_execute(*, run_id: str) -> RunOutcome:
    """Execute one attempt of a run; safe to call any number of times, from any number of workers.

    Claims the run (skipping it when it is finished, not yet due, or owned by a live worker), calls the
    model outside any transaction, then writes the reply fenced by the attempt number, so a turn is
    never answered twice. Transient model errors are retried with exponential backoff up to
    RUN_MAX_ATTEMPTS; terminal errors and exhausted retries end in a ``run.failed`` event, and so does a
    run reclaimed after its workers died RUN_MAX_ATTEMPTS times (``run_abandoned``). While an event stream
    listens to the session, the reply is streamed and its deltas reach the listeners as ``message.delta``.

    After the claim a reply turn reads twice (the run with its session, version and emotion session; the
    history) and writes once (one transaction); a hard budget adds its reservation, committed before each
    model call. The statement counts are pinned in ``tests/test_statement_counts.py`` of this app.
    """
    steps = run_steps(run_id=run_id)
    while True:
        try:
            next(steps)
        except StopIteration as finished:
            return finished.value


def runs_recover(*, queued_grace_seconds: float = 30.0) -> list[str]:
    """Return the ids of runs to dispatch again: running runs whose lease expired (their worker died)
    and queued runs overdue by more than the grace period (their dispatch was lost)."""
    now = clock.now()
    overdue = now - timedelta(seconds=queued_grace_seconds)
    abandoned = Run.objects.filter(status=Run.Status.RUNNING, lease_expires_at__lt=now)
    stuck = Run.objects.filter(status=Run.Status.QUEUED, available_at__lt=overdue)
    return [*abandoned.values_list("id", flat=True)[:500], *stuck.values_list("id", flat=True)[:500]]
