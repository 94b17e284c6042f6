"""Proactive messages: keeping each session's next due time, the integrator's controls update, the scheduler's
claim, and test sends.

A session's ``proactive_next_due_at`` is recomputed (``proactive_rules.next_due``) whenever something it depends
on changes: a turn ends, the controls change, a slot is claimed. The scheduler reads only sessions whose
time has come, through a partial index, and claims them with ``FOR NO KEY UPDATE SKIP LOCKED``: two
scanners never hold the same session, and the gates are checked again under that lock with fresh data.
A claimed slot becomes a ledger row (unique per session and slot) and an initiate Run, which the workers
execute through the same pipeline as a reply.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet

from apps.conversations import proactive_controls, proactive_rules, selectors
from apps.conversations.errors import SessionNotFound
from apps.conversations.models import ProactiveSend, Run, Session
from apps.conversations.services.events import NewEvent, cursor_advance, events_append, events_append_many
from apps.conversations.services.messages import RUN_EXECUTE_TASK
from apps.core import clock, executor
from apps.core.sql import values_cte

if TYPE_CHECKING:
    from apps.accounts.models import App

logger = logging.getLogger(__name__)


# --- rescheduling ----------------------------------------------------------------------------------------
def proactive_reschedule(*, session_id: str) -> datetime | None:
    """Recompute the session's next due time; return it. Call inside the transaction that changed the state.

    Costs one query for a session with proactive off (whose due time is always NULL).
    """
    session = Session.objects.select_related("character_version").filter(pk=session_id, proactive_enabled=True).first()
    if session is None:
        return None
    due = proactive_rules.next_due(selectors.proactive_state(session=session, now=clock.now()))
    due_at = due.at if due else None
    if due_at != session.proactive_next_due_at:
        Session.objects.filter(pk=session_id).update(proactive_next_due_at=due_at)
    return due_at


# --- the integrator's controls ----------------------------------------------------------------------------
@transaction.atomic
def session_proactive_update(*, app: "App", session_id: str, changes: dict) -> Session:
    """Apply a partial update of the proactive switch, controls, time zone and quiet hours, then reschedule.

    ``changes`` is validated first (ValidationFailed naming each bad field, nothing written); ``null`` for a
    control removes the session's override. Raises SessionNotFound for another app's session.
    """
    changes = proactive_controls.controls_validate(changes)
    session = Session.objects.select_for_update().filter(app=app, pk=session_id).first()
    if session is None:
        raise SessionNotFound(f"No session with id '{session_id}'.")
    overrides = dict(session.proactive_controls or {})
    for name in proactive_controls.CONTROL_NAMES:
        if name in changes:
            if changes[name] is None:
                overrides.pop(name, None)
            else:
                overrides[name] = changes[name]
    session.proactive_controls = overrides
    if "proactive_enabled" in changes:
        session.proactive_enabled = changes["proactive_enabled"]
    if "timezone" in changes:
        session.timezone = changes["timezone"]
    if "quiet_hours" in changes:
        quiet = changes["quiet_hours"] or {}
        session.quiet_hours_start, session.quiet_hours_end = quiet.get("start"), quiet.get("end")
    if not session.proactive_enabled:
        session.proactive_next_due_at = None
    session.save(
        update_fields=[
            "proactive_controls",
            "proactive_enabled",
            "timezone",
            "quiet_hours_start",
            "quiet_hours_end",
            "proactive_next_due_at",
            "updated_at",
        ]
    )
    session.proactive_next_due_at = proactive_reschedule(session_id=session.id)
    return session


# --- initiate runs ------------------------------------------------------------------------------------------
def _initiate_run_create(*, session_id: str, kind: str, run: Run | None = None, app_id: str | None = None) -> Run:
    """Queue a turn in which the character writes first: a ``run.status`` (generating) event, the Run, and
    its dispatch after commit. With ``app_id`` the cursor UPDATE also checks the session is the app's."""
    last_cursor, _ = cursor_advance(session_id=session_id, count=1, app_id=app_id)
    run = run or Run(session_id=session_id, kind=kind)
    run.trigger_cursor = last_cursor
    run.available_at = clock.now()
    run.save(force_insert=True)
    events_append(
        session_id=session_id,
        last_cursor=last_cursor,
        events=[
            NewEvent(
                "run.status", {"status": "generating", "run_ref": run.id, "proactive": {"kind": kind}}, run_id=run.id
            )
        ],
    )
    run_id = run.id
    transaction.on_commit(lambda: executor.submit(RUN_EXECUTE_TASK, run_id))
    return run


@dataclass(frozen=True)
class ProactiveTestResult:
    run_ref: str
    cursor: int
    kind: str


@transaction.atomic
def proactive_test_send(*, app: "App", session_id: str) -> ProactiveTestResult:
    """Make the character write first now (a cold initiate), whatever the switch, controls, caps and gaps say.

    For trying out delivery and the character's voice; not recorded in the ledger, so it does not use up the
    day's cap. Raises SessionNotFound (also for another app's session).
    """
    run = _initiate_run_create(session_id=session_id, kind=Run.Kind.COLD_INITIATE, app_id=app.pk)
    return ProactiveTestResult(run_ref=run.id, cursor=run.trigger_cursor, kind=run.kind)


# --- the scheduler -------------------------------------------------------------------------------------------
def due_sessions_locked(*, now: datetime, limit: int) -> QuerySet:
    """Ids and stored due times of sessions due by ``now``, oldest first, row-locked and skipping rows another
    scanner holds. Served by the partial index ``session_proactive_due``. Evaluate inside a transaction."""
    return (
        Session.objects.filter(proactive_enabled=True, proactive_next_due_at__isnull=False)
        .filter(proactive_next_due_at__lte=now)
        .order_by("proactive_next_due_at")
        .select_for_update(skip_locked=True, no_key=True)
        .values_list("id", "proactive_next_due_at")[:limit]
    )


@dataclass(frozen=True)
class _Decision:
    """What a batch does with one locked due session: move its due time, or send its slot."""

    session_id: str
    stored_due: datetime
    next_due_at: datetime | None  # the due time to store when the slot is not sent now
    slot: proactive_rules.Due | None = None  # the slot to send (``next_due_at`` is then unused)


def _decide(session_id: str, state: proactive_rules.ProactiveState, stored_due: datetime, now: datetime) -> _Decision:
    due = proactive_rules.next_due(state)
    if due is None or due.at > now:  # something changed since the due time was stored: not (yet) due
        return _Decision(session_id, stored_due, next_due_at=due.at if due else None)
    return _Decision(session_id, stored_due, next_due_at=None, slot=due)


# The batch's rows as the set-based statements read them (name, PostgreSQL type); see ``core.sql``.
_CLAIM_COLUMNS = [("session_id", "text"), ("stored_due", "timestamptz"), ("slot_at", "timestamptz"),
                  ("sent_at", "timestamptz"), ("kind", "text"), ("run_id", "text")]  # fmt: skip
_DECIDED_COLUMNS = [("session_id", "text"), ("stored_due", "timestamptz"), ("next_due_at", "timestamptz"),
                    ("advance", "integer")]  # fmt: skip


def _slots_record(*, claims: list[_Decision], run_ids: dict[str, str], now: datetime) -> set[str]:
    """Write the ledger rows of the slots in ``claims`` in one statement; return the sessions whose row was
    written (the others were sent already: their unique key exists).

    ``ON CONFLICT DO NOTHING`` instead of catching IntegrityError, so no savepoint is needed per claim. A row
    is written only while the session still has the due time this scan read: with the row lock held it
    always has, and this refuses the claim if the lock were ever lost.
    """
    ops, table, sessions = connection.ops, ProactiveSend._meta.db_table, Session._meta.db_table
    sent_at = ops.adapt_datetimefield_value(now)
    cte, params = values_cte(
        name="claim",
        columns=_CLAIM_COLUMNS,
        rows=[
            (
                claim.session_id,
                ops.adapt_datetimefield_value(claim.stored_due),
                ops.adapt_datetimefield_value(claim.slot.at),
                sent_at,
                claim.slot.kind,
                run_ids[claim.session_id],
            )
            for claim in claims
        ],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {cte} INSERT INTO {table} (session_id, slot_at, sent_at, kind, run_id) "  # noqa: S608
            f"SELECT claim.session_id, claim.slot_at, claim.sent_at, claim.kind, claim.run_id FROM claim, {sessions} s "
            "WHERE s.id = claim.session_id AND s.proactive_next_due_at = claim.stored_due "
            "ON CONFLICT (session_id, slot_at) DO NOTHING RETURNING session_id",
            params,
        )
        return {row[0] for row in cursor.fetchall()}


def _sessions_advance(*, decisions: list[_Decision], sent: set[str], now: datetime) -> dict[str, int]:
    """Store every decided session's new due time, and reserve one cursor for each session in ``sent``, in
    one statement; return the last cursor of each session in ``sent``.

    A sent session's due time becomes NULL (busy until its initiate turn ends, which reschedules); a slot
    found in the ledger is looked at again after a minute rather than on every tick. Conditional on the due
    time this scan read, like the ledger row. The UPDATE keeps the sessions row-locked until commit, so the
    cursors come out gap-free, as with ``cursor_advance``.
    """
    ops, table = connection.ops, Session._meta.db_table
    rows = []
    for decision in decisions:
        next_due_at, advance = decision.next_due_at, 0
        if decision.slot is not None and decision.session_id in sent:
            next_due_at, advance = None, 1
        elif decision.slot is not None:
            logger.warning("Proactive slot %s@%s was already sent", decision.session_id, decision.slot.at.isoformat())
            next_due_at = max(now, decision.stored_due) + proactive_rules.CLAIM_RETRY
        rows.append(
            (
                decision.session_id,
                ops.adapt_datetimefield_value(decision.stored_due),
                ops.adapt_datetimefield_value(next_due_at),
                advance,
            )
        )
    cte, params = values_cte(
        name="decided",
        columns=_DECIDED_COLUMNS,
        rows=rows,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {cte} UPDATE {table} SET proactive_next_due_at = decided.next_due_at, "  # noqa: S608
            "last_cursor = last_cursor + decided.advance FROM decided "
            f"WHERE {table}.id = decided.session_id AND {table}.proactive_next_due_at = decided.stored_due "
            "RETURNING id, last_cursor",
            params,
        )
        return {session_id: last_cursor for session_id, last_cursor in cursor.fetchall() if session_id in sent}


def _batch_claim(*, due: list[tuple[str, datetime]], states: dict, now: datetime) -> list[str]:
    """Decide a batch of locked due sessions: send their slots (return the new runs' ids) or move their due
    times. In a transaction; a constant number of statements whatever the batch's size."""
    decisions = [_decide(session_id, states[session_id], stored_due, now) for session_id, stored_due in due]
    claims = [decision for decision in decisions if decision.slot is not None]
    # The runs' ids are known before their rows (FKs are checked at commit).
    runs = {claim.session_id: Run(session_id=claim.session_id, kind=claim.slot.kind) for claim in claims}
    run_ids = {session_id: run.id for session_id, run in runs.items()}
    sent = _slots_record(claims=claims, run_ids=run_ids, now=now) if claims else set()
    last_cursors = _sessions_advance(decisions=decisions, sent=sent, now=now)
    runs = {session_id: run for session_id, run in runs.items() if session_id in last_cursors}
    if not runs:
        return []
    for session_id, run in runs.items():
        run.trigger_cursor = last_cursors[session_id]
        run.available_at = now
    Run.objects.bulk_create(runs.values())
    events_append_many(
        events={
            session_id: [
                NewEvent(
                    "run.status",
                    {"status": "generating", "run_ref": run.id, "proactive": {"kind": run.kind}},
                    run_id=run.id,
                )
            ]
            for session_id, run in runs.items()
        },
        last_cursors=last_cursors,
    )
    queued = [run.id for run in runs.values()]
    transaction.on_commit(lambda: executor.submit_many(RUN_EXECUTE_TASK, [(run_id,) for run_id in queued]))
    return queued


@dataclass(frozen=True)
class ScanResult:
    examined: int
    run_ids: list[str]


def proactive_scan(*, batch_size: int | None = None, max_batches: int | None = None) -> ScanResult:
    """Claim every due session (in batches, one transaction each) and queue an initiate turn for each slot
    that still passes its gates. Safe to run from any number of beats and workers at once."""
    batch_size = batch_size or settings.PROACTIVE_SCAN_BATCH_SIZE
    max_batches = max_batches or settings.PROACTIVE_SCAN_MAX_BATCHES
    examined, run_ids = 0, []
    for _ in range(max_batches):
        with transaction.atomic():
            now = clock.now()
            due = list(due_sessions_locked(now=now, limit=batch_size))
            if due:
                sessions = Session.objects.select_related("character_version").in_bulk([row[0] for row in due])
                states = selectors.proactive_states(sessions=list(sessions.values()), now=now)
                run_ids += _batch_claim(due=due, states=states, now=now)
        examined += len(due)
        if len(due) < batch_size:
            break
    return ScanResult(examined=examined, run_ids=run_ids)
