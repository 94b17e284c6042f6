"""Starting sessions."""

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction

from apps.accounts import services as accounts_services
from apps.characters import selectors as character_selectors
from apps.conversations import selectors
from apps.conversations.models import Session
from apps.conversations.services.events import NewEvent, events_append
from apps.conversations.services.proactive_scheduling import proactive_reschedule

if TYPE_CHECKING:
    from apps.accounts.models import App


@transaction.atomic
def session_create(
    *, app: "App", character_slug: str, external_user_ref: str, proactive_enabled: bool = False
) -> Session:
    """Start a session on the character's current version; a greeting opens it as ``character.initiated``.

    Raises CharacterNotFound (also for another app's slug), CharacterNotPublished, and the app's quota errors.
    """
    character = character_selectors.character_published_get(app=app, slug=character_slug)
    accounts_services.app_quota_consume(app=app, resource="sessions")
    session = Session.objects.create(
        app=app,
        character=character,
        character_version=character.current_version,
        external_user_ref=external_user_ref,
        proactive_enabled=proactive_enabled,
    )
    greeting = (character.current_version.content.get("greeting") or "").strip()
    if greeting:
        payload = {"text": greeting, "bubbles": [greeting], "kind": "greeting"}
        events_append(session_id=session.id, events=[NewEvent("character.initiated", payload, role="character")])
        session.last_cursor = 1
    if proactive_enabled:
        session.proactive_next_due_at = proactive_reschedule(session_id=session.id)
    return session


@transaction.atomic
def session_latest_or_create(
    *, app: "App", character_slug: str, external_user_ref: str, started_after: datetime | None = None
) -> Session:
    """The end-user's newest session on the character's current version, or a new one (``session_create``).

    ``started_after`` (e.g. the persona's last edit: a session snapshots its persona at its first turn) makes
    older sessions count as stale. Raises what ``session_create`` raises.
    """
    character = character_selectors.character_published_get(app=app, slug=character_slug)
    existing = selectors.session_latest(
        app=app,
        character_id=character.pk,
        character_version_id=character.current_version_id,
        external_user_ref=external_user_ref,
        started_after=started_after,
    )
    if existing is not None:
        return existing
    return session_create(app=app, character_slug=character_slug, external_user_ref=external_user_ref)


def session_stream_token_issue(*, app: "App", session_id: str) -> accounts_services.IssuedStreamToken:
    """A short-lived token that opens this session's event stream from a browser (``?token=``).

    Raises SessionNotFound for unknown ids and for another app's sessions. Writes nothing.
    """
    session = selectors.session_get(app=app, session_id=session_id)
    return accounts_services.stream_token_issue(app=app, session_id=session.id, kind="session")
