"""Proactive messages: keeping each session's next due time, the scheduler's claim, and test sends.

A session's ``proactive_next_due_at`` is recomputed (``proactive.next_due``) whenever something it depends
on changes: a turn ends, the controls change, a slot is claimed. The scheduler reads only sessions whose
time has come, through a partial index, and claims them with ``FOR NO KEY UPDATE SKIP LOCKED``: two
scanners never hold the same session, and the gates are checked again under that lock with fresh data.
A claimed slot becomes a ledger row (unique per session and slot) and an initiate Run, which the workers
execute through the same pipeline as a reply.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet

from apps.accounts.models import App
from apps.conversations import dispatch, proactive, selectors
from apps.conversations.errors import SessionNotFound
from apps.conversations.models import ProactiveSend, Run, Session
from apps.conversations.services.events import NewEvent, cursor_advance, events_append
from apps.core import clock

logger = logging.getLogger(__name__)


# --- rescheduling ----------------------------------------------------------------------------------------
def proactive_reschedule(*, session_id: str) -> datetime | None:
    """Recompute the session's next due time; return it. Call inside the transaction that changed the state.

    Costs one query for a session with proactive off (whose due time is always NULL).
    """
    session = Session.objects.select_related("character_version").filter(pk=session_id, proactive_enabled=True).first()
    if session is None:
        return None
    due = proactive.next_due(selectors.proactive_state(session=session, now=clock.now()))
    due_at = due.at if due else None
    if due_at != session.proactive_next_due_at:
        Session.objects.filter(pk=session_id).update(proactive_next_due_at=due_at)
    return due_at


# --- the integrator's controls ----------------------------------------------------------------------------
@transaction.atomic
def session_proactive_update(*, app: App, session_id: str, changes: dict) -> Session:
    """Apply a partial update of the proactive switch, controls, time zone and quiet hours, then reschedule.

    ``changes`` is validated first (ValidationFailed naming each bad field, nothing written); ``null`` for a
    control removes the session's override. Raises SessionNotFound for another app's session.
    """
    changes = proactive.controls_validate(changes)
    session = Session.objects.select_for_update().filter(app=app, pk=session_id).first()
    if session is None:
        raise SessionNotFound(f"No session with id '{session_id}'.")
    overrides = dict(session.proactive_controls or {})
    for name in proactive.CONTROL_NAMES:
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
    transaction.on_commit(lambda: dispatch.run_dispatch(run_id=run_id))
    return run


@dataclass(frozen=True)
class ProactiveTestResult:
    run_ref: str
    cursor: int
    kind: str


@transaction.atomic
def proactive_test_send(*, app: App, session_id: str) -> ProactiveTestResult:
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


def _slot_record(*, session_id: str, slot_at: datetime, sent_at: datetime, kind: str, run_id: str) -> bool:
    """Write the ledger row of a slot; False when the slot was sent already (its unique key exists).

    ``ON CONFLICT DO NOTHING`` instead of catching IntegrityError, so no savepoint is needed per claim.
    """
    ops, table = connection.ops, ProactiveSend._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (session_id, slot_at, sent_at, kind, run_id) VALUES (%s, %s, %s, %s, %s) "  # noqa: S608
            "ON CONFLICT (session_id, slot_at) DO NOTHING RETURNING id",
            [
                session_id,
                ops.adapt_datetimefield_value(slot_at),
                ops.adapt_datetimefield_value(sent_at),
                kind,
                run_id,
            ],
        )
        return cursor.fetchone() is not None


def _claim(session: Session, state: proactive.ProactiveState, stored_due: datetime, now: datetime) -> str | None:
    """Decide a locked due session: send (return the new run's id) or move its due time. In a transaction."""
    due = proactive.next_due(state)
    if due is None or due.at > now:  # something changed since the due time was stored: not (yet) due
        Session.objects.filter(pk=session.id).update(proactive_next_due_at=due.at if due else None)
        return None
    # Conditional on the due time this scan read: with the row lock held it always matches, and it would
    # refuse the claim if the lock were ever lost. NULL: busy until the initiate turn ends, which reschedules.
    if not Session.objects.filter(pk=session.id, proactive_next_due_at=stored_due).update(proactive_next_due_at=None):
        return None
    run = Run(session_id=session.id, kind=due.kind)  # its id is known before the row (FKs are checked at commit)
    if not _slot_record(session_id=session.id, slot_at=due.at, sent_at=now, kind=due.kind, run_id=run.id):
        logger.warning("Proactive slot %s@%s was already sent", session.id, due.at.isoformat())
        # Look again after a minute rather than on every tick.
        retry_at = max(now, stored_due) + proactive.CLAIM_RETRY
        Session.objects.filter(pk=session.id).update(proactive_next_due_at=retry_at)
        return None
    _initiate_run_create(session_id=session.id, kind=due.kind, run=run)
    return run.id


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
            sessions = Session.objects.select_related("character_version").in_bulk([row[0] for row in due])
            states = selectors.proactive_states(sessions=list(sessions.values()), now=now)
            for session_id, stored_due in due:
                run_id = _claim(sessions[session_id], states[session_id], stored_due, now)
                if run_id:
                    run_ids.append(run_id)
        examined += len(due)
        if len(due) < batch_size:
            break
    return ScanResult(examined=examined, run_ids=run_ids)
