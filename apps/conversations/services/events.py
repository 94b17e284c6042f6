"""Appending to a session's event log."""

from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from apps.conversations.errors import SessionNotFound, TooManyPendingTurns
from apps.conversations.models import Event, Run, Session
from apps.core import clock
from apps.core.compiled import CompiledInsert
from apps.core.events import SESSION_EVENTS, events_emit

_EVENT_INSERT = CompiledInsert(Event)  # a turn appends its events on the hot path


@dataclass(frozen=True)
class NewEvent:
    event_type: str
    payload: dict[str, Any] = field(default_factory=dict)
    role: str = ""
    run_id: str | None = None


@dataclass(frozen=True)
class CursorAdvance:
    """What reserving cursors returns: the last cursor reserved, the user turn count after, and whether the
    session is switched to proactive messages (read under the same lock, so a turn knows at no extra cost
    whether it has a due time to keep)."""

    last_cursor: int
    user_turn_count: int
    proactive_enabled: bool


_LORE_STATE_FIELD = Session._meta.get_field("lore_state")


def session_cursor_advance(
    *,
    session_id: str,
    count: int,
    user_turns: int = 0,
    app_id: str | None = None,
    character_version_id: str | None = None,
    lore_state: dict | None = None,
    pending_limits: tuple[int, int] | None = None,
) -> CursorAdvance:
    """Reserve ``count`` cursors in one statement. Must run in a transaction.

    The UPDATE row-locks the session until commit, so concurrent appenders queue behind each other and
    cursors come out gap-free in commit order. With ``app_id`` the same statement checks ownership, so a
    writer needs no separate lookup; raises SessionNotFound when no such session belongs to the app.
    ``character_version_id`` (a turn's write) records the version the turn ran on, unless the session was
    pinned meanwhile: the pin is read under the same row lock, so a concurrent PATCH always wins.
    ``lore_state`` (a turn's write) keeps the lorebooks' sticky and cooldown counters for the next turn.
    ``pending_limits`` (session, app) raises TooManyPendingTurns when the session or its app already has that
    many unfinished runs (see ``_PENDING_RETURNING``); the caller's transaction then rolls the UPDATE back.
    """
    table = Session._meta.db_table
    owner_clause, owner_params = (" AND app_id = %s", [app_id]) if app_id is not None else ("", [])
    version_clause, version_params = "", []
    if character_version_id is not None:
        version_clause = (
            ", character_version_id = CASE WHEN character_version_pinned THEN character_version_id ELSE %s END"
        )
        version_params = [character_version_id]
    if lore_state is not None:  # the lorebooks' timed effects after this turn, in the same statement
        version_clause += ", lore_state = %s"
        version_params.append(_LORE_STATE_FIELD.get_db_prep_value(lore_state, connection))
    pending_clause, pending_params = "", []
    if pending_limits is not None:
        pending_clause, pending_params = _pending_sql(pending_limits)  # counted up to each limit: enough to decide
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_cursor = last_cursor + %s, user_turn_count = user_turn_count + %s"  # noqa: S608
            f"{version_clause} WHERE id = %s{owner_clause} RETURNING last_cursor, user_turn_count, proactive_enabled"
            f"{pending_clause}",
            [count, user_turns, *version_params, session_id, *owner_params, *pending_params],
        )
        row = cursor.fetchone()
    if row is None:
        raise SessionNotFound(f"No session with id '{session_id}'.")
    if pending_limits is not None:
        _pending_check(session_pending=row[3], app_pending=row[4], limits=pending_limits)
    return CursorAdvance(row[0], row[1], bool(row[2]))


_UNFINISHED = (Run.Status.QUEUED.value, Run.Status.RUNNING.value)
# The session's and its app's unfinished runs, counted in the RETURNING of the UPDATE that locks the session,
# so the check costs no statement of its own. Each count stops at its limit: the session's reads the partial
# index of unfinished runs per session (a handful of rows); the app's walks the partial index of all unfinished
# runs and keeps its sessions', so its cost follows the runs in flight on the server, never the history.
# On PostgreSQL the counts are VOLATILE functions (migration 0011): each takes its own snapshot after the row
# lock is held, so a send queued on the lock sees the run the send before it committed, and sends to one session
# are held exactly however they race; a subquery here would read the snapshot taken before the wait. Sends to
# different sessions of one app share no lock: simultaneous ones may pass the app's limit by the number in
# flight. SQLite runs one write transaction at a time, so plain subqueries are exact there.
_PENDING_RETURNING = {
    "postgresql": (
        ", conversations_session_unfinished_runs({session}.id, %s)"
        ", conversations_app_unfinished_runs({session}.app_id, %s)"
    ),
    "sqlite": (
        ", (SELECT count(*) FROM (SELECT 1 FROM {run} AS pending_run"
        " WHERE pending_run.session_id = {session}.id AND pending_run.status IN (%s, %s) LIMIT %s) AS session_pending)"
        ", (SELECT count(*) FROM (SELECT 1 FROM {run} AS pending_run JOIN {session} AS pending_session"
        " ON pending_session.id = pending_run.session_id WHERE pending_session.app_id = {session}.app_id"
        " AND pending_run.status IN (%s, %s) LIMIT %s) AS app_pending)"
    ),
}


def _pending_sql(limits: tuple[int, int]) -> tuple[str, list]:
    clause = _PENDING_RETURNING[connection.vendor].format(session=Session._meta.db_table, run=Run._meta.db_table)
    if connection.vendor == "postgresql":
        return clause, [limits[0], limits[1]]
    return clause, [*_UNFINISHED, limits[0], *_UNFINISHED, limits[1]]


def _pending_check(*, session_pending: int, app_pending: int, limits: tuple[int, int]) -> None:
    session_limit, app_limit = limits
    if session_pending >= session_limit:
        raise TooManyPendingTurns(
            f"This session already has {session_pending} messages waiting for a reply, the most allowed "
            "(TURNS_MAX_PENDING_PER_SESSION)."
        )
    if app_pending >= app_limit:
        raise TooManyPendingTurns(
            f"This app already has {app_pending} messages waiting for a reply across its sessions, the most "
            "allowed (TURNS_MAX_PENDING_PER_APP)."
        )


def cursor_advance(
    *,
    session_id: str,
    count: int,
    user_turns: int = 0,
    app_id: str | None = None,
    pending_limits: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """``session_cursor_advance`` as (last cursor reserved, user turn count after)."""
    advanced = session_cursor_advance(
        session_id=session_id, count=count, user_turns=user_turns, app_id=app_id, pending_limits=pending_limits
    )
    return advanced.last_cursor, advanced.user_turn_count


def events_append(
    *,
    session_id: str,
    events: list[NewEvent],
    last_cursor: int | None = None,
    character_version_id: str | None = None,
) -> list[Event]:
    """Append ``events`` in order and announce them to the event sinks after commit.

    Pass ``last_cursor`` when the cursors were already reserved with ``cursor_advance`` in this
    transaction; otherwise they are reserved here, recording ``character_version_id`` as the version the
    session's turn ran on (``session_cursor_advance``). Must run inside a transaction.
    """
    assert transaction.get_connection().in_atomic_block, "events_append needs a transaction"
    if last_cursor is None:
        last_cursor = session_cursor_advance(
            session_id=session_id, count=len(events), character_version_id=character_version_id
        ).last_cursor
    return events_append_many(events={session_id: events}, last_cursors={session_id: last_cursor})


def events_append_many(*, events: dict[str, list[NewEvent]], last_cursors: dict[str, int]) -> list[Event]:
    """Append to many sessions at once: ``events[session_id]`` in order, ending at ``last_cursors[session_id]``.

    For batches (the proactive scan): one INSERT for all the events, the sinks' ``record`` once for all of
    them, and one announcement after commit, so the cost in statements does not grow with the sessions.
    The cursors must already be reserved in this transaction (as ``cursor_advance`` does for one session),
    which row-locks the sessions and keeps every session's cursors gap-free. Must run inside a transaction.
    """
    assert transaction.get_connection().in_atomic_block, "events_append_many needs a transaction"
    now = clock.now()
    pending = []
    for session_id, items in events.items():
        first = last_cursors[session_id] - len(items) + 1
        pending += [
            Event(
                session_id=session_id,
                cursor=first + offset,
                event_type=item.event_type,
                role=item.role,
                payload=item.payload,
                run_id=item.run_id,
                created_at=now,
            )
            for offset, item in enumerate(items)
        ]
    if not pending:
        return []
    rows = _EVENT_INSERT.insert(pending)
    events_emit(topic=SESSION_EVENTS, events=[row.as_public_dict() for row in rows])
    return rows
