"""Starting sessions."""

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction

from apps.accounts import services as accounts_services
from apps.characters import selectors as character_selectors
from apps.conversations import selectors
from apps.conversations.errors import SessionNotFound
from apps.conversations.models import Session
from apps.conversations.services.events import NewEvent, events_append
from apps.conversations.services.memory import memory_ensure
from apps.conversations.services.proactive_scheduling import proactive_reschedule
from apps.core.errors import ValidationFailed
from apps.llm import selectors as llm_selectors

if TYPE_CHECKING:
    from apps.accounts.models import App
    from apps.characters.models import Character, CharacterVersion


def _version_numbered(character: "Character", number: int) -> "CharacterVersion":
    version = character_selectors.character_version_numbered(character=character, number=number)
    if version is None:
        latest = character.current_version.version_number if character.current_version else 0
        raise ValidationFailed(
            {"character_version": [f"'{character.slug}' has no version {number}; its versions are 1 to {latest}."]}
        )
    return version


@transaction.atomic
def session_create(
    *,
    app: "App",
    character_slug: str,
    external_user_ref: str,
    proactive_enabled: bool = False,
    character_version: int | None = None,
    title: str = "",
    system_prompt: str = "",
    model: str = "",
) -> Session:
    """Start a session; a greeting opens it as ``character.initiated``.

    ``title``, ``system_prompt`` and ``model`` (a catalog model name, checked here) are what the studio
    surface keeps on a conversation: the system prompt follows the character's sheet in every turn's prompt and
    the model replaces the character's for every turn.

    The session follows the character: each turn runs on the version published when it starts. With
    ``character_version`` (a version number) the session is pinned to that version instead, until a PATCH
    moves or unpins it. Raises CharacterNotFound (also for another app's slug), CharacterNotPublished,
    ValidationFailed (no such version) and the app's quota errors.
    """
    character = character_selectors.character_published_get(app=app, slug=character_slug)
    version = character.current_version
    if character_version is not None:
        version = _version_numbered(character, character_version)
    if model:
        llm_selectors.model_spec_get(name=model)  # ModelNotFound before anything is written
    accounts_services.app_quota_consume(app=app, resource="sessions")
    memory_id = memory_ensure(app_id=app.id, character_id=character.id, external_user_ref=external_user_ref)
    session = Session.objects.create(
        app=app,
        character=character,
        memory_id=memory_id,
        character_version=version,
        character_version_pinned=character_version is not None,
        external_user_ref=external_user_ref,
        proactive_enabled=proactive_enabled,
        title=title,
        system_prompt=system_prompt,
        model=model,
    )
    greeting = (version.content.get("greeting") or "").strip()
    if greeting:
        payload = {"text": greeting, "bubbles": [greeting], "kind": "greeting"}
        events_append(session_id=session.id, events=[NewEvent("character.initiated", payload, role="character")])
        session.last_cursor = 1
    if proactive_enabled:
        session.proactive_next_due_at = proactive_reschedule(session_id=session.id)
    return session


def session_version_follow(*, session: Session, current: "CharacterVersion | None") -> None:
    """Point an unpinned session at ``current`` (its character's published version, read with the turn's
    rows) for the turn about to run; the turn's write records it. No query; a pinned session keeps its own."""
    if not session.character_version_pinned and current is not None and session.character_version_id != current.id:
        session.character_version = current


@transaction.atomic
def session_version_pin(*, app: "App", session_id: str, character_version: int | None) -> Session:
    """Pin the session to its character's version ``character_version`` (moving it there), or with None let
    it follow the character again (it moves to the current version now). The next turn runs on it.

    Raises SessionNotFound (also for another app's session) and ValidationFailed (no such version).
    """
    session = (
        Session.objects.select_for_update(of=("self",))
        .select_related("character__current_version")
        .filter(app=app, pk=session_id)
        .first()
    )
    if session is None:
        raise SessionNotFound(f"No session with id '{session_id}'.")
    if character_version is None:
        session.character_version = session.character.current_version
        session.character_version_pinned = False
    else:
        session.character_version = _version_numbered(session.character, character_version)
        session.character_version_pinned = True
    session.save(update_fields=["character_version", "character_version_pinned", "updated_at"])
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


def session_of_end_user_ensure(*, app: "App", character_slug: str, external_user_ref: str) -> str:
    """The id of the end-user's newest conversation with the character, or of a new one (``session_create``):
    for doors where a (character, end-user) pair is the conversation, such as the OpenAI door's ``user``.
    Unlike ``session_latest_or_create`` a new published version does not start a new session (each turn runs
    on the version current at its start), so emotion and history carry across edits; one query when it
    exists, and concurrent first calls open one session. Raises what ``session_create`` raises."""
    existing = selectors.session_id_of_end_user(
        app=app, character_slug=character_slug, external_user_ref=external_user_ref
    )
    if existing is not None:
        return existing
    # The first call: under the character's row lock, look again, so that concurrent first calls of one
    # end-user open one session between them.
    with transaction.atomic():
        character_selectors.character_published_get(app=app, slug=character_slug, for_update=True)
        existing = selectors.session_id_of_end_user(
            app=app, character_slug=character_slug, external_user_ref=external_user_ref
        )
        if existing is not None:
            return existing
        return session_create(app=app, character_slug=character_slug, external_user_ref=external_user_ref).id


def session_stream_token_issue(*, app: "App", session_id: str) -> accounts_services.IssuedStreamToken:
    """A short-lived token that opens this session's event stream from a browser (``?token=``).

    Raises SessionNotFound for unknown ids and for another app's sessions. Writes nothing.
    """
    session = selectors.session_get(app=app, session_id=session_id)
    return accounts_services.stream_token_issue(app=app, session_id=session.id, kind="session")
