"""Reads for conversations, always scoped to the asking app."""

from django.db.models import QuerySet

from apps.accounts.models import App
from apps.conversations.errors import SessionNotFound
from apps.conversations.models import Event, Run, Session


def session_get(*, app: App, session_id: str) -> Session:
    """Raises SessionNotFound for unknown ids and for another app's sessions."""
    session = Session.objects.select_related("character", "character_version").filter(app=app, pk=session_id).first()
    if session is None:
        raise SessionNotFound(f"No session with id '{session_id}'.")
    return session


def session_list(
    *, app: App, character_slug: str | None = None, external_user_ref: str | None = None
) -> QuerySet[Session]:
    sessions = Session.objects.filter(app=app).select_related("character", "character_version")
    if character_slug:
        sessions = sessions.filter(character__slug=character_slug)
    if external_user_ref:
        sessions = sessions.filter(external_user_ref=external_user_ref)
    return sessions.order_by("-created_at", "-id")


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


def run_list(*, session_id: str, limit: int = 50, run_id: str | None = None) -> list[Run]:
    runs = Run.objects.filter(session_id=session_id)
    if run_id is not None:
        runs = runs.filter(pk=run_id)
    return list(runs.order_by("-created_at")[:limit])
