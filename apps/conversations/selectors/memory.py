"""Reads of what a character knows about an end-user (their shared ``Memory``), and of a run's prompt trace."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from apps.conversations.errors import RunContextNotRecorded, RunNotFound, SessionNotFound
from apps.conversations.models import Memory, MemoryFact, Run, Session

if TYPE_CHECKING:
    from apps.accounts.models import App


@dataclass(frozen=True)
class MemoryView:
    """A session's memory as the integrator sees it. ``memory_id`` is None while nothing was ever remembered
    (the row is created by the first write); ``facts`` are the current ones, plus the closed ones on request."""

    session_id: str
    memory_id: str | None
    summary: str = ""
    summary_updated_at: datetime | None = None
    blocks: list[dict[str, Any]] = field(default_factory=list)
    facts: list[MemoryFact] = field(default_factory=list)
    fact_count: int = 0


def session_memory_owner(*, app: "App", session_id: str) -> Session:
    """The app's session with its memory row joined (``memory`` None when not attached yet); SessionNotFound
    for unknown ids and another app's sessions."""
    session = (
        Session.objects.select_related("memory")
        .only("id", "app_id", "character_id", "external_user_ref", "memory")
        .filter(app=app, pk=session_id)
        .first()
    )
    if session is None:
        raise SessionNotFound(f"No session with id '{session_id}'.")
    return session


def memory_of_session(session: Session) -> Memory | None:
    """The session's memory: the attached row, else the row of its (app, character, end-user), which a session
    created before memory existed may not point at yet; None when the character knows nothing of the user."""
    if session.memory_id is not None:
        return session.memory
    return Memory.objects.filter(
        app_id=session.app_id, character_id=session.character_id, external_user_ref=session.external_user_ref
    ).first()


def session_memory_get(*, app: "App", session_id: str, include_history: bool = False) -> MemoryView:
    """Summary, blocks and current facts (oldest first) of the session's memory; with ``include_history`` also
    the facts that were closed by an update or by extraction. Raises SessionNotFound for another app's session.

    Two queries (the session with its memory, then the facts), one when there are no facts to read."""
    session = session_memory_owner(app=app, session_id=session_id)
    memory = memory_of_session(session)
    if memory is None:
        return MemoryView(session_id=session.id, memory_id=None)
    facts: list[MemoryFact] = []
    if memory.fact_count or include_history:
        rows = MemoryFact.objects.filter(memory=memory)
        if not include_history:
            rows = rows.filter(valid_to__isnull=True)
        facts = list(rows.order_by("valid_from", "created_at", "id"))  # one request's adds in their order
    return MemoryView(
        session_id=session.id,
        memory_id=memory.id,
        summary=memory.summary,
        summary_updated_at=memory.summary_updated_at,
        blocks=list(memory.blocks or []),
        facts=facts,
        fact_count=memory.fact_count,
    )


@dataclass(frozen=True)
class RunContext:
    session_id: str
    run_ref: str
    status: str
    context: dict[str, Any]


def run_context_get(*, app: "App", session_id: str, run_ref: str) -> RunContext:
    """What the run's reply prompt was made of (``Run.context``, as the turn recorded it).

    Raises SessionNotFound for another app's session, RunNotFound for a run that is not the session's, and
    RunContextNotRecorded for a run without a trace (queued, running, failed, or older than the trace). One
    query when the run exists, two otherwise (to tell an unknown session from an unknown run)."""
    found = (
        Run.objects.filter(pk=run_ref, session_id=session_id, session__app=app).values_list("status", "context").first()
    )
    if found is None:
        if not Session.objects.filter(app=app, pk=session_id).exists():
            raise SessionNotFound(f"No session with id '{session_id}'.")
        raise RunNotFound(f"Session '{session_id}' has no run '{run_ref}'.")
    status, context = found
    if not context:
        raise RunContextNotRecorded(
            f"Run '{run_ref}' has no recorded context (status {status}): only a reply that succeeded records one."
        )
    return RunContext(session_id=session_id, run_ref=run_ref, status=status, context=context)


def end_user_sessions_lock(*, app: "App", external_user_ref: str) -> list[Session]:
    """Every session of the app's end-user, row-locked until the transaction ends (in id order, so two erasures
    of the same user never deadlock), with the ids of what hangs off them: the emotion state and playthrough."""
    return list(
        Session.objects.select_for_update()
        .filter(app=app, external_user_ref=external_user_ref)
        .only("id", "persona_session_id", "playthrough_id", "last_cursor")
        .order_by("id")
    )
