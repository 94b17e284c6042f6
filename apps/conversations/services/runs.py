"""Executing runs: the asynchronous half of a turn, and recovering runs whose worker vanished."""

import logging
import time
from collections.abc import Generator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction

from apps.conversations import selectors
from apps.conversations.bubbles import bubbles_split
from apps.conversations.errors import RunAbandoned
from apps.conversations.models import Event, Run
from apps.conversations.proactive_rules import reply_payload
from apps.conversations.services import metering
from apps.conversations.services.deltas import DeltaPublisher, delta_listening
from apps.conversations.services.emotion import run_emotion_commit
from apps.conversations.services.events import NewEvent, events_append, session_cursor_advance
from apps.conversations.services.memory import memory_summary_queue
from apps.conversations.services.proactive_scheduling import proactive_reschedule
from apps.conversations.services.run_trace import run_trace
from apps.conversations.services.selfies import (
    selfie_draw_queue,
    selfie_events,
    selfie_reply_read,
)
from apps.conversations.services.turn_prompt import WORKER, Turn, TurnOptions, turn_context, turn_prepare
from apps.core import clock, log_context, metrics
from apps.core.errors import ApplicationError
from apps.llm import services as llm_services
from apps.llm.errors import LLMTransientError, LLMUnusableJSON
from apps.llm.types import ChatResult

logger = logging.getLogger(__name__)

# PostgreSQL went away (a restart, a failover, a network cut) while a worker ran a turn: worth another try once it
# is back. The attempt is resubmitted after ``min(RUN_RETRY_BACKOFF_SECONDS * 2**n, _OUTAGE_BACKOFF_MAX)``
# seconds, up to ``_OUTAGE_RETRIES`` times (about three minutes in all); past that the recovery sweep has it.
_DATABASE_OUTAGE = (OperationalError, InterfaceError)
_OUTAGE_RETRIES = 20
_OUTAGE_BACKOFF_MAX = 10.0


@dataclass(frozen=True)
class RunOutcome:
    """What became of one execution attempt. ``retry_in`` is set when the run should be dispatched again.

    A succeeded attempt also carries the character's ``reply`` (the public dict of its ``message.created``) and
    the reply call's ``result``; a failed one its ``error``; ``trace`` is set when the options asked for it."""

    run_id: str
    status: str
    retry_in: float | None = None
    resume_attempt: int | None = None  # an attempt cut off by a database outage, which its retry may take back
    reply: dict[str, Any] | None = None
    result: ChatResult | None = None
    error: ApplicationError | None = None
    trace: dict[str, Any] | None = None


def _claim(run_id: str, resume_attempt: int | None = None) -> int | None:
    """Take the run if it is due (queued) or abandoned (lease expired), or if it is still held by
    ``resume_attempt`` (an attempt of ours that a database outage cut off: it holds an unexpired lease that it
    could not release); return the new attempt number."""
    now = clock.now()
    table = Run._meta.db_table
    # One statement, so autocommit makes it atomic; a transaction block would only add BEGIN and COMMIT round trips.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = 'running', attempts = attempts + 1, lease_expires_at = %s, "  # noqa: S608
            f"started_at = COALESCE(started_at, %s), updated_at = %s "
            f"WHERE id = %s AND ((status = 'queued' AND available_at <= %s) "
            f"OR (status = 'running' AND (lease_expires_at < %s OR attempts = %s))) RETURNING attempts",
            [now + timedelta(seconds=settings.RUN_LEASE_SECONDS), now, now, run_id, now, now, resume_attempt],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _fenced(run_id: str, attempt: int):
    """The run row, only while this attempt still owns it."""
    return Run.objects.filter(pk=run_id, status=Run.Status.RUNNING, attempts=attempt)


def _outcome_write(
    run: Run, events: list[NewEvent], outcomes: list[metering.CallOutcome], lore_state: dict | None = None
) -> list[Event]:
    """The rest of an outcome's transaction, after the fenced run UPDATE: settle the calls, append the events
    (and the budget warnings) in one go, keep the lorebooks' timed effects when they changed, and keep the
    proactive due time when the session has one."""
    warnings = metering.run_usage_settle(run=run, outcomes=outcomes)
    advanced = session_cursor_advance(
        session_id=run.session_id,
        count=len(events) + len(warnings),
        character_version_id=run.session.character_version_id,  # the version this turn ran on
        lore_state=lore_state,
    )
    rows = events_append(session_id=run.session_id, events=[*events, *warnings], last_cursor=advanced.last_cursor)
    if advanced.proactive_enabled:  # read under the session's lock, so a switch flipped mid-turn is seen
        proactive_reschedule(session_id=run.session_id)
    return rows


_CONTEXT_FIELD = Run._meta.get_field("context")


def _finish_success(run: Run, attempt: int, turn: Turn, result: ChatResult, latency_ms: int) -> dict | None:
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
                    _CONTEXT_FIELD.get_db_prep_value(turn_context(turn, result), connection),
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
        lore_state = None
        if turn.lore is not None and turn.lore.state != (run.session.lore_state or {}):
            lore_state = turn.lore.state
        events = [reply, *run_emotion_commit(run=run, emotion=turn.emotion), *skipped]
        rows = _outcome_write(run, events, outcomes, lore_state)
        if selfie is not None:
            selfie_draw_queue(image_id=selfie["image_id"])
        if turn.summary_due:
            memory_summary_queue(session_id=run.session_id)
    return rows[0].as_public_dict()


def _finish_failure(run: Run, attempt: int, error: ApplicationError, calls: int, turn: Turn | None = None) -> bool:
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


def _reply_call(turn: Turn) -> ChatResult:
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


def _reply_streamed(turn: Turn, listeners: DeltaPublisher | None) -> Generator[str, None, ChatResult]:
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


_METRIC_OUTCOMES = {"queued": "retried"}


def _observed(run: Run, outcome: RunOutcome) -> RunOutcome:
    """Count the attempt's outcome (and a finished run's latency from its acceptance), log it, and pass it on."""
    finished = outcome.status in {"succeeded", "failed"}
    metrics.turn_finished(
        kind=run.kind,
        outcome=_METRIC_OUTCOMES.get(outcome.status, outcome.status),
        accepted_at=run.created_at if finished else None,
    )
    if outcome.status == "succeeded" and run.kind != Run.Kind.REPLY:
        metrics.proactive_sent(kind=run.kind)
    if outcome.error is not None:
        logger.info("Run %s %s: %s", run.id, outcome.status, outcome.error.code)
    else:
        logger.info("Run %s %s", run.id, outcome.status)
    return outcome


def run_steps(*, run_id: str, options: TurnOptions = WORKER) -> Generator[str, None, RunOutcome]:
    """One attempt of a run, as a generator: it yields the reply's text deltas while the model streams them
    (only when the options ask for a stream or an event stream listens to the session; else it yields
    nothing) and returns the RunOutcome. ``run_execute`` drives it to the end; a surface that answers in the
    request drives it itself and forwards the deltas."""
    attempt = _claim(run_id)
    if attempt is None:
        return RunOutcome(run_id, "skipped")
    return (yield from _attempt_steps(run_id, attempt, options))


def _attempt_steps(run_id: str, attempt: int, options: TurnOptions) -> Generator[str, None, RunOutcome]:
    """``run_steps`` once the run is claimed as ``attempt``."""
    run = selectors.run_for_execution(run_id=run_id)
    log_context.bind(app_id=run.session.app_id, session_id=run.session_id, run_ref=run.id)
    if attempt > settings.RUN_MAX_ATTEMPTS:
        # Only a lease-expiry reclaim gets here: earlier attempts died mid-turn. A turn that kills its worker
        # every time must end in run.failed instead of being reclaimed forever.
        abandoned = RunAbandoned(f"The turn was abandoned by its worker {attempt - 1} times.")
        _finish_failure(run, attempt, abandoned, run.model_calls)
        return _observed(run, RunOutcome(run_id, "failed", error=abandoned))
    turn = Turn()
    clock_started = time.monotonic()
    try:
        turn_prepare(run, turn, options)
    except ApplicationError as error:  # e.g. a model the catalog no longer has, or no budget left (no call made)
        _finish_failure(run, attempt, error, run.model_calls + turn.model_calls(), turn)
        return _observed(run, RunOutcome(run_id, "failed", error=error))
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
            return _observed(run, RunOutcome(run_id, "queued", retry_in=retry_in))
        _finish_failure(run, attempt, error, calls, turn)
        return _observed(run, RunOutcome(run_id, "failed", error=error))
    except ApplicationError as error:
        _finish_failure(run, attempt, error, calls, turn)
        return _observed(run, RunOutcome(run_id, "failed", error=error))
    latency_ms = int((time.monotonic() - started) * 1000)
    reply = _finish_success(run, attempt, turn, result, latency_ms)
    if reply is None:
        return _observed(run, RunOutcome(run_id, "superseded"))
    trace = None
    if options.trace:
        timings = {"prepare_ms": round((started - clock_started) * 1000, 1), "model_ms": latency_ms}
        trace = run_trace(run=run, turn=turn, timings=timings)
    return _observed(run, RunOutcome(run_id, "succeeded", reply=reply, result=result, trace=trace))


def run_execute(*, run_id: str, resume_attempt: int | None = None, interruptions: int = 0) -> RunOutcome:
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

    When the database goes away mid-attempt the outcome is ``interrupted``, with a ``retry_in`` backoff and the
    ``resume_attempt`` to pass back (with ``interruptions`` + 1): that retry takes the run back at once instead
    of waiting for the lease this attempt could not release. No reply can land twice: the claim and every write
    are fenced by the attempt number, which the retry's claim moves on.
    """
    attempt = None
    try:
        attempt = _claim(run_id, resume_attempt)
        if attempt is None:
            return RunOutcome(run_id, "skipped")
        steps = _attempt_steps(run_id, attempt, WORKER)
        while True:
            try:
                next(steps)
            except StopIteration as finished:
                return finished.value
    except _DATABASE_OUTAGE as error:
        if interruptions >= _OUTAGE_RETRIES:
            raise  # left to the recovery sweep
        retry_in = min(settings.RUN_RETRY_BACKOFF_SECONDS * 2**interruptions, _OUTAGE_BACKOFF_MAX)
        logger.warning("Run %s interrupted by a database outage (%s); retrying in %.0fs", run_id, error, retry_in)
        return RunOutcome(run_id, "interrupted", retry_in=retry_in, resume_attempt=attempt or resume_attempt)


def runs_recover() -> list[str]:
    """Return the ids of runs to dispatch again: running runs whose lease expired (their worker died)
    and queued runs overdue by more than ``RUNS_RECOVER_QUEUED_AFTER_SECONDS`` (their dispatch was lost: the
    broker was down when the turn was accepted, or lost its queue in a restart or a flush). A queued run whose
    message is merely waiting in a long queue may be dispatched twice; the claim makes the second a no-op."""
    now = clock.now()
    overdue = now - timedelta(seconds=settings.RUNS_RECOVER_QUEUED_AFTER_SECONDS)
    abandoned = Run.objects.filter(status=Run.Status.RUNNING, lease_expires_at__lt=now)
    stuck = Run.objects.filter(status=Run.Status.QUEUED, available_at__lt=overdue)
    return [*abandoned.values_list("id", flat=True)[:500], *stuck.values_list("id", flat=True)[:500]]
