"""Creating, deleting and locking persona sessions, and their stream tokens."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import transaction

from apps.accounts import services as accounts_services
from apps.personas import engine
from apps.personas.errors import PersonaSessionNotFound
from apps.personas.events import persona_event, persona_events_emit
from apps.personas.models import PersonaRelationship, PersonaSession
from apps.personas.selectors import character_persona_spec, persona_session_get
from apps.personas.triggers import TRIGGERS

if TYPE_CHECKING:
    from apps.accounts.models import App

TRIGGERS_DEFAULT = {name: True for name in TRIGGERS}


def persona_session_create(
    *, app: App, spec: Mapping[str, Any], sent: Mapping[str, Any] | None = None
) -> PersonaSession:
    """Resolve a molroo persona body (a ``preset`` and/or custom fields; custom fields win) into a new session.

    ``sent`` is the persona API's config as its client sent it (kept as the session's ``spec``: it marks the
    session as a persona of that API). Raises the engine's UnknownPreset and EngineInputInvalid; nothing is
    written then.
    """
    personality = engine.personality_from_spec(spec)
    config = engine.emotion_config_from_spec(personality, spec)
    state = engine.emotion_state_initial(config)
    return PersonaSession.objects.create(
        app=app,
        preset=personality.preset or "",
        persona=personality.to_dict(),
        config=config.to_dict(),
        state=state.to_dict(),
        proactive_preferences={"triggers": dict(TRIGGERS_DEFAULT)},
        spec=dict(sent) if sent is not None else None,
    )


def character_persona_session_create(*, app: App, character_id: str, content: Mapping[str, Any]) -> PersonaSession:
    """A new emotion session for a native conversation with this character (its persona, completed from the
    character version's ``content``)."""
    return persona_session_create(app=app, spec=character_persona_spec(character_id=character_id, content=content))


def persona_session_discard(*, app: App, session_id: str) -> None:
    """Delete a session nobody has used (one created for a native conversation that another worker linked
    first). Unlike ``persona_session_delete`` it announces nothing: no one was ever told of the session."""
    PersonaSession.objects.filter(app=app, pk=session_id).delete()


def persona_session_delete(*, app: App, session_id: str) -> None:
    """Delete the session and everything hanging off it (relationships, proactive actions, and through the
    ``session_deleted`` event its webhooks). Other apps' ids 404."""
    with transaction.atomic():
        deleted, _ = PersonaSession.objects.filter(app=app, pk=session_id).delete()
        if not deleted:
            raise PersonaSessionNotFound(f"No session with id '{session_id}'.")
        persona_events_emit([persona_event(type="session_deleted", app_id=app.pk, session_id=session_id, data={})])


def persona_sessions_erase(*, app: App, session_ids: list[str], user_ref: str) -> dict[str, int]:
    """Erase an end-user's emotion state (a GDPR request): the sessions ``session_ids`` (those of the user's
    native conversations) with everything hanging off them, and the relationship with ``user_ref`` that any
    other session of the app keeps. Unlike ``persona_session_delete`` it announces nothing: the erasure's caller
    removes the sessions' webhooks itself, in the same transaction, and a fixed number of statements does it
    however many sessions there are. Returns the counts of ``sessions`` and ``relationships`` deleted."""
    with transaction.atomic():
        _, sessions = PersonaSession.objects.filter(app=app, pk__in=session_ids).delete()
        _, others = PersonaRelationship.objects.filter(session__app=app, user_ref=user_ref).delete()
    relationships = PersonaRelationship._meta.label
    return {
        "sessions": sessions.get(PersonaSession._meta.label, 0),
        "relationships": sessions.get(relationships, 0) + others.get(relationships, 0),
    }


def persona_session_stream_token_issue(*, app: App, session_id: str) -> accounts_services.IssuedStreamToken:
    """A short-lived token that opens this session's WebSocket from a browser (``?token=``).

    Raises PersonaSessionNotFound for unknown ids and for another app's sessions. Writes nothing.
    """
    session = persona_session_get(app=app, session_id=session_id)
    return accounts_services.stream_token_issue(app=app, session_id=session.id, kind="persona")


def session_locked(app: App, session_id: str) -> PersonaSession:
    """The app's session, its row locked until the transaction ends; PersonaSessionNotFound otherwise."""
    session = PersonaSession.objects.select_for_update().filter(app=app, pk=session_id, deleted_at__isnull=True).first()
    if session is None:
        raise PersonaSessionNotFound(f"No session with id '{session_id}'.")
    return session
