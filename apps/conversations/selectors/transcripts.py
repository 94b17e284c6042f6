"""What a conversation said, read back: one turn's events (the admin's Try it) and the transcripts and
conversation lists the studio surface shows."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import OuterRef, Q, Subquery

from apps.conversations.errors import SessionNotFound
from apps.conversations.models import IMAGE_READY, Event, Run, Session
from apps.conversations.selectors.reads import MESSAGE_TYPES, UNFINISHED
from apps.personas import selectors as persona_selectors

if TYPE_CHECKING:
    from apps.accounts.models import App


@dataclass(frozen=True)
class SessionTurn:
    """One turn read back from the log: the user's message, the run, the reply's bubbles, the emotion before
    (the previous turn's ``emotion.updated``, or the state the session starts in) and after, and the failure."""

    run: Run
    user_text: str
    bubbles: list[str]
    emotion_before: dict[str, Any] | None
    emotion_after: dict[str, Any] | None
    failure: dict[str, Any] | None

    @property
    def finished(self) -> bool:
        return self.run.status not in UNFINISHED


def session_turn_get(*, app: "App", session_id: str, run_id: str) -> SessionTurn | None:
    """The turn ``run_id`` of the app's session, None when the run is not that session's. Three reads (the run
    with its session, the turn's events, the emotion before it); a fourth before a session's first emotion."""
    run = (
        Run.objects.select_related("session__character_version")
        .filter(pk=run_id, session_id=session_id, session__app=app)
        .first()
    )
    if run is None:
        return None
    events = list(
        Event.objects.filter(session_id=session_id)
        .filter(Q(cursor=run.trigger_cursor) | Q(run_id=run.pk))
        .order_by("cursor")
    )
    user_text, bubbles, after, failure = "", [], None, None
    for event in events:
        if event.cursor == run.trigger_cursor:
            user_text = event.payload.get("text", "")
        elif event.event_type == "message.created" and event.role == "character":
            bubbles = event.payload.get("bubbles") or [event.payload.get("text", "")]
        elif event.event_type == "emotion.updated":
            after = event.payload
        elif event.event_type == "run.failed":
            failure = event.payload
    before = (
        Event.objects.filter(session_id=session_id, event_type="emotion.updated", cursor__lt=run.trigger_cursor)
        .order_by("-cursor")
        .values_list("payload", flat=True)
        .first()
    )
    if before is None:
        session = run.session
        start = persona_selectors.character_persona_preview(
            character_id=session.character_id, content=session.character_version.content
        )
        before = {key: start[key] for key in ("emotion", "discrete_emotion")} | {
            "trust": start["relationship"]["trust"]
        }
    return SessionTurn(run, user_text, bubbles, before, after, failure)


# --- conversations as the studio surface lists them ------------------------------------------------------
# A conversation's transcript: its messages (the greeting included) and the pictures inserted into it.
TRANSCRIPT_TYPES = (*MESSAGE_TYPES, IMAGE_READY)


def session_list_with_last_message(*, app: "App", limit: int) -> list[Session]:
    """The app's newest ``limit`` sessions, each with ``last_message_at`` (when its newest message or picture
    was written; None before the first) and its character, in one statement."""
    newest = (
        Event.objects.filter(session_id=OuterRef("pk"), event_type__in=TRANSCRIPT_TYPES)
        .order_by("-cursor")
        .values("created_at")[:1]
    )
    sessions = (
        Session.objects.filter(app=app)
        .select_related("character")
        .annotate(last_message_at=Subquery(newest))
        .order_by("-created_at", "-id")
    )
    return list(sessions[:limit])


def session_get_with_last_message(*, app: "App", session_id: str) -> Session:
    """``session_get`` with ``last_message_at`` (as ``session_list_with_last_message``) in the same statement."""
    newest = (
        Event.objects.filter(session_id=OuterRef("pk"), event_type__in=TRANSCRIPT_TYPES)
        .order_by("-cursor")
        .values("created_at")[:1]
    )
    session = (
        Session.objects.filter(app=app, pk=session_id)
        .select_related("character")
        .annotate(last_message_at=Subquery(newest))
        .first()
    )
    if session is None:
        raise SessionNotFound(f"No conversation with id '{session_id}'.")
    return session


def session_transcript(*, app: "App", session_id: str, limit: int) -> list[Event]:
    """The newest ``limit`` messages and inserted pictures of the app's session, oldest first, in one statement
    (the ownership check rides in it as a subquery). Raises SessionNotFound for another app's session."""
    owner = Session.objects.filter(pk=session_id, app=app).values("pk")
    rows = list(
        Event.objects.filter(session_id=session_id, session_id__in=owner, event_type__in=TRANSCRIPT_TYPES).order_by(
            "-cursor"
        )[:limit]
    )
    if not rows and not Session.objects.filter(pk=session_id, app=app).exists():
        raise SessionNotFound(f"No conversation with id '{session_id}'.")
    rows.reverse()
    return rows
