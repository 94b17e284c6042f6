"""Reads for conversations, always scoped to the asking app: sessions, events, runs, proactive state."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Count, F, QuerySet, Subquery
from django.db.models.fields.json import KT

from apps.assets import selectors as assets_selectors
from apps.characters import selectors as characters_selectors
from apps.conversations import proactive_controls, proactive_rules
from apps.conversations.errors import SessionNotFound
from apps.conversations.models import IMAGE_READY, Event, ProactiveSend, Run, SelfieDayCount, Session
from apps.core.compiled import CompiledRead
from apps.personas import selectors as persona_selectors

if TYPE_CHECKING:
    from apps.accounts.models import App
    from apps.characters.models import CharacterVersion

MESSAGE_TYPES = ("message.created", "character.initiated")
UNFINISHED = (Run.Status.QUEUED, Run.Status.RUNNING)


_SESSION_RELATED = ("character__current_version", "character_version")


def session_get(*, app: "App", session_id: str) -> Session:
    """Raises SessionNotFound for unknown ids and for another app's sessions."""
    session = Session.objects.select_related(*_SESSION_RELATED).filter(app=app, pk=session_id).first()
    if session is None:
        raise SessionNotFound(f"No session with id '{session_id}'.")
    return session


def session_next_version(*, session: Session) -> "CharacterVersion":
    """The version the session's next turn runs on: its pinned one, else its character's current one (loaded
    by ``session_get`` and ``session_list``)."""
    if session.character_version_pinned or session.character.current_version is None:
        return session.character_version
    return session.character.current_version


def session_list(
    *, app: "App", character_slug: str | None = None, external_user_ref: str | None = None
) -> QuerySet[Session]:
    sessions = Session.objects.filter(app=app).select_related(*_SESSION_RELATED)
    if character_slug:
        sessions = sessions.filter(character__slug=character_slug)
    if external_user_ref:
        sessions = sessions.filter(external_user_ref=external_user_ref)
    return sessions.order_by("-created_at", "-id")


def session_latest(
    *, app: "App", character_id: str, character_version_id: str, external_user_ref: str, started_after=None
) -> Session | None:
    """The end-user's newest session on that character version (started at or after ``started_after``)."""
    sessions = Session.objects.filter(
        app=app,
        character_id=character_id,
        character_version_id=character_version_id,
        external_user_ref=external_user_ref,
    )
    if started_after is not None:
        sessions = sessions.filter(created_at__gte=started_after)
    return sessions.select_related("character", "character_version").order_by("-created_at", "-id").first()


_SESSION_ID_OF_END_USER = CompiledRead(
    lambda app_id, character_slug, external_user_ref: (
        Session.objects.filter(
            app_id=app_id,
            character__slug=character_slug,
            external_user_ref=external_user_ref,
            playthrough__isnull=True,
        )
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)[:1]
    ),
    markers=["\x00app_id", "\x00character_slug", "\x00external_user_ref"],
)


def session_id_of_end_user(*, app: "App", character_slug: str, external_user_ref: str) -> str | None:
    """The id of the end-user's newest conversation with the character (not an NPC playthrough's), whatever
    version it runs (sessions follow their character), in one query; None when there is none. Compiled once
    per process: it opens every OpenAI-door call with a ``user``."""
    found = _SESSION_ID_OF_END_USER.fetch(app.pk, character_slug, external_user_ref)
    return found[0] if found else None


def event_list(*, session_id: str, since: int, limit: int) -> list[Event]:
    """Events with cursor > ``since``, oldest first, at most ``limit``."""
    return list(Event.objects.filter(session_id=session_id, cursor__gt=since).order_by("cursor")[:limit])


def event_list_newest(
    *, session_id: str, limit: int, before: int | None = None, run_id: str | None = None
) -> list[Event]:
    """Events newest first, with cursor < ``before`` when given, optionally only one run's."""
    events = Event.objects.filter(session_id=session_id)
    if before is not None:
        events = events.filter(cursor__lt=before)
    if run_id is not None:
        events = events.filter(run_id=run_id)
    return list(events.order_by("-cursor")[:limit])


def runs_unfinished_counts() -> dict[str, int]:
    """Queued and running runs across every app, by status (the operators' metrics; the partial index
    ``run_unfinished`` serves it)."""
    counts = dict.fromkeys(UNFINISHED, 0)
    rows = Run.objects.filter(status__in=UNFINISHED).values_list("status").annotate(count=Count("id")).order_by()
    counts.update(rows)
    return {str(status): count for status, count in counts.items()}


def run_list(*, session_id: str, limit: int = 50, run_id: str | None = None) -> list[Run]:
    runs = Run.objects.filter(session_id=session_id)
    if run_id is not None:
        runs = runs.filter(pk=run_id)
    return list(runs.order_by("-created_at")[:limit])


# Enough messages to count the longest allowed run of unanswered character turns (20).
_NEWEST_MESSAGES = 22


def _newest_messages(*, session_ids: list[str], limit: int) -> dict[str, list[tuple[str, datetime]]]:
    """Per session, (role, created_at) of its newest ``limit`` messages, newest first, in one statement.

    Each session's ``limit``-th newest message cursor is found first (a short backward scan of the
    (session, cursor) index, as ``LIMIT`` per session would be), then only the messages from it on are
    read, so long histories cost no more than short ones. Plain SQL both backends accept (no LATERAL).
    """
    found: dict[str, list[tuple[str, datetime]]] = {session_id: [] for session_id in session_ids}
    if not session_ids:
        return found
    events, sessions = Event._meta.db_table, Session._meta.db_table
    types = ", ".join(["%s"] * len(MESSAGE_TYPES))
    in_ids = ", ".join(["%s"] * len(session_ids))
    sql = (
        f"SELECT e.id, e.session_id, e.role, e.created_at FROM ("  # noqa: S608 - our tables; values are parameters
        f"SELECT s.id AS session_id, COALESCE((SELECT m.cursor FROM {events} m WHERE m.session_id = s.id "
        f"AND m.event_type IN ({types}) ORDER BY m.cursor DESC LIMIT 1 OFFSET %s), 0) AS first_cursor "
        f"FROM {sessions} s WHERE s.id IN ({in_ids})) f "
        f"JOIN {events} e ON e.session_id = f.session_id AND e.cursor >= f.first_cursor "
        f"WHERE e.event_type IN ({types}) ORDER BY e.session_id, e.cursor DESC"
    )
    for event in Event.objects.raw(sql, [*MESSAGE_TYPES, limit - 1, *session_ids, *MESSAGE_TYPES]):
        found[event.session_id].append((event.role, event.created_at))
    return found


_RUN_FOR_EXECUTION = CompiledRead(
    lambda run_id: (
        Run.objects.select_related(
            "session__app", "session__character_version", "session__persona_session", "session__memory"
        )
        .annotate(character_current_version_id=F("session__character__current_version_id"))
        .filter(pk=run_id)
    ),
    markers=["\x00run_id"],
)


def run_for_execution(*, run_id: str) -> Run:
    """The run with everything a worker needs about it, in one query: its session, the session's app,
    character version, emotion session (personas' row, handed to personas' services as loaded) and memory.
    Compiled once per process (``CompiledRead``): compiling this five-model read cost more than running it.

    The session's ``character_version`` is the version this turn runs on: an unpinned session whose character
    published since its last turn moves to the current version (one more read, only on that first turn)."""
    found = _RUN_FOR_EXECUTION.fetch(run_id)
    if not found:
        raise Run.DoesNotExist(f"No run with id '{run_id}'.")
    run = found[0]
    session = run.session
    current_id = run.character_current_version_id
    if not session.character_version_pinned and current_id is not None and current_id != session.character_version_id:
        session.character_version = characters_selectors.character_version_get(version_id=current_id)
    return run


_RUN_HISTORY: dict[int, CompiledRead] = {}


def _run_history_read(limit: int) -> CompiledRead:
    read = _RUN_HISTORY.get(limit)
    if read is None:
        read = _RUN_HISTORY[limit] = CompiledRead(
            lambda session_id, trigger_cursor, after: (
                Event.objects.filter(
                    session_id=session_id, event_type__in=MESSAGE_TYPES, cursor__lte=trigger_cursor, cursor__gt=after
                )
                .order_by("-cursor")
                .values_list("cursor", "role", "payload")[:limit]
            ),
            markers=["\x00session_id", -987_654_321, -987_654_322],
        )
    return read


def run_history(*, run: Run, limit: int, after: int = 0) -> tuple[list[tuple[int, str, str]], str]:
    """The conversation up to the run's trigger as (cursor, role, text), oldest first, at most ``limit`` messages
    and only those after cursor ``after`` (what the memory's summary has not folded in), and the text of the user
    message the run answers ("" when the run answers none). One query, compiled once per process and limit."""
    rows = _run_history_read(limit).fetch(run.session_id, run.trigger_cursor, after)
    trigger = ""
    if rows and rows[0][0] == run.trigger_cursor and rows[0][1] == "user":
        trigger = rows[0][2].get("text", "")
    history = [
        (cursor, role, payload.get("text", "")) for cursor, role, payload in reversed(rows) if payload.get("text")
    ]
    return history, trigger


def proactive_state(*, session: Session, now: datetime) -> proactive_rules.ProactiveState:
    """Read what the schedule depends on: the controls, the newest messages, turns in flight, recent sends."""
    return proactive_states(sessions=[session], now=now)[session.id]


def proactive_states(*, sessions: list[Session], now: datetime) -> dict[str, proactive_rules.ProactiveState]:
    """``proactive_state`` for a batch (the scheduler's): turns in flight, recent sends and the newest messages
    are read for all of them in one query each, so a batch costs the same number of statements at any size."""
    ids = [session.id for session in sessions]
    busy = set(Run.objects.filter(session_id__in=ids, status__in=UNFINISHED).values_list("session_id", flat=True))
    sends: dict[str, list[datetime]] = {session_id: [] for session_id in ids}
    recent = ProactiveSend.objects.filter(session_id__in=ids, sent_at__gte=now - proactive_rules.SEND_LOOKBACK)
    for session_id, sent_at in recent.values_list("session_id", "sent_at"):
        sends[session_id].append(sent_at)
    newest_by_session = _newest_messages(session_ids=ids, limit=_NEWEST_MESSAGES)
    states = {}
    for session in sessions:
        newest = newest_by_session[session.id]
        unanswered = 0
        for role, _ in newest:
            if role == "user":
                break
            unanswered += 1
        quiet = (
            (session.quiet_hours_start, session.quiet_hours_end)
            if session.quiet_hours_start is not None and session.quiet_hours_end is not None
            else None
        )
        states[session.id] = proactive_rules.ProactiveState(
            enabled=session.proactive_enabled,
            controls=proactive_controls.controls_resolve(
                overrides=session.proactive_controls or {},
                thresholds=session.character_version.content.get("behavioral_thresholds"),
            ),
            tz=proactive_rules.zone(session.timezone),
            quiet=quiet,
            started_at=session.created_at,
            last_message_at=newest[0][1] if newest else None,
            unanswered=unanswered,
            busy=session.id in busy,
            sends=tuple(sends[session.id]),
        )
    return states


@dataclass(frozen=True)
class ProactiveView:
    """A session's proactive settings as the integrator sees them."""

    session: Session
    controls: proactive_controls.Controls
    sent_today: int  # scheduled sends in the end-user's current local day
    next_due: proactive_rules.Due | None


def session_proactive_view(*, session: Session, now: datetime) -> ProactiveView:
    state = proactive_state(session=session, now=now)
    day_start, day_end = proactive_rules.local_day_bounds(now, state.tz)
    return ProactiveView(
        session=session,
        controls=state.controls,
        sent_today=proactive_rules.sends_between(state.sends, day_start, day_end),
        next_due=proactive_rules.next_due(state),
    )


def session_emotion_state(*, app: "App", session_id: str) -> dict[str, Any]:
    """The character's current emotion in a session: VAD, discrete emotion, body budget, stage, needs,
    regulation, relationship (trust) and prompt_data. Before the first turn, the state it will start in.

    Raises SessionNotFound for unknown ids and for another app's sessions.
    """
    session = session_get(app=app, session_id=session_id)
    if session.persona_session_id:
        persona = persona_selectors.persona_session_get(app=app, session_id=session.persona_session_id)
        state = persona_selectors.persona_state(app=app, session_id=persona.pk)
        turns, updated_at = persona.turn_count, persona.last_turn_at
    else:
        content = session.character_version.content
        state = persona_selectors.character_persona_preview(character_id=session.character_id, content=content)
        turns, updated_at = 0, None
    return {"session_id": session.id, "persona_session_id": session.persona_session_id, "turns": turns,
            "updated_at": updated_at, **state}  # fmt: skip


def session_app_id_subquery(*, session_id: str) -> Subquery:
    """The app id of a session as a scalar subquery, for another app's query to filter by in one statement."""
    return Subquery(Session.objects.filter(pk=session_id).order_by().values("app_id")[:1])


_NPC_SESSION_LATEST = CompiledRead(
    lambda playthrough_id: (
        Session.objects.filter(playthrough_id=playthrough_id)
        .select_related("character_version", "memory")
        .order_by("-created_at", "-id")[:1]
    ),
    markers=["\x00playthrough_id"],
)


def npc_session_latest(*, playthrough_id: str) -> Session | None:
    """The session of the playthrough's current run through its machine (restarts open new ones), with its
    character version and memory; compiled once per process (it is read on every NPC turn)."""
    found = _NPC_SESSION_LATEST.fetch(playthrough_id)
    return found[0] if found else None


NPC_HISTORY_MESSAGES = 40
_NPC_HISTORY = CompiledRead(
    lambda session_id: (
        Event.objects.filter(session_id=session_id, role__in=("user", "character"))
        .order_by("-cursor")
        .values_list("role", KT("payload__text"))[:NPC_HISTORY_MESSAGES]
    ),
    markers=["\x00session_id"],
)


def npc_history(*, session_id: str) -> list[tuple[str, str]]:
    """The last ``NPC_HISTORY_MESSAGES`` messages of an NPC session as (role, text), oldest first: what an NPC
    turn's prompts quote. Only the text leaves the database (no payload to decode); compiled once per process."""
    return [(role, text or "") for role, text in reversed(_NPC_HISTORY.fetch(session_id))]


def npc_messages(*, session_id: str) -> list[Event]:
    """The player's and the NPC's messages of an NPC session, oldest first."""
    return list(Event.objects.filter(session_id=session_id, role__in=("user", "character")).order_by("cursor"))


def event_links_fresh(event: dict) -> dict:
    """A public event dict with its image links minted anew (a webhook retried hours after the event was
    recorded sends URLs that work now); any other event as it is."""
    payload = event.get("payload")
    if event.get("event_type") != IMAGE_READY or not isinstance(payload, dict) or not payload.get("image_id"):
        return event
    return {**event, "payload": {**payload, **assets_selectors.image_links(image_id=payload["image_id"])}}


_SELFIE_DAY_COUNT = CompiledRead(
    lambda app_id, character_id, external_user_ref, day: SelfieDayCount.objects.filter(
        app_id=app_id, character_id=character_id, external_user_ref=external_user_ref, day=day
    ).values_list("count", flat=True)[:1],
    markers=["\x00app", "\x00character", "\x00user", date(1901, 2, 3)],
)


def selfie_day_count(*, app_id: str, character_id: str, external_user_ref: str, day: date) -> int:
    """The selfies an end-user got from a character on one local day (0 before the first). Compiled once per
    process: every turn of a selfie-ready character reads it."""
    found = _SELFIE_DAY_COUNT.fetch(app_id, character_id, external_user_ref, day)
    return found[0] if found else 0
