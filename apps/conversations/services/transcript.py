"""Writing given messages into a session's log without a run: a conversation opened with its history.

The studio surface creates a conversation with initial ``messages`` (what the user and the character already
said elsewhere); they become ordinary ``message.created`` events, so the next turn's prompt quotes them, and
the native event log, SSE and webhooks show them like any other message. No model is called.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from django.conf import settings
from django.db import transaction

from apps.characters import services as characters_services
from apps.conversations.bubbles import bubbles_split
from apps.conversations.errors import MessageInvalid
from apps.conversations.models import Event, Session
from apps.conversations.services.events import NewEvent, cursor_advance, events_append
from apps.conversations.services.sessions import session_create

if TYPE_CHECKING:
    from apps.accounts.models import App


@dataclass(frozen=True)
class TranscriptMessage:
    role: Literal["user", "character"]
    text: str


def _checked(messages: list[TranscriptMessage]) -> None:
    problems: dict[str, list[str]] = {}
    for index, message in enumerate(messages):
        if message.role not in ("user", "character"):
            problems[f"messages[{index}].role"] = ["Must be 'user' or 'character'."]
        if not isinstance(message.text, str) or not message.text.strip():
            problems[f"messages[{index}].content"] = ["Must be a non-empty string."]
        elif len(message.text) > settings.MESSAGE_MAX_CHARS:
            problems[f"messages[{index}].content"] = [f"At most {settings.MESSAGE_MAX_CHARS} characters."]
    if problems:
        raise MessageInvalid(problems)


@transaction.atomic
def transcript_append(*, app: "App", session_id: str, messages: list[TranscriptMessage]) -> list[Event]:
    """Append ``messages`` to the app's session as ``message.created`` events, in order, in one transaction.

    The cursors are reserved in one statement that also checks the session is the app's (SessionNotFound
    otherwise) and counts the user's messages as turns, so the log stays gap-free and turn indexes run on.
    Raises MessageInvalid (nothing written) for an empty text, a text over MESSAGE_MAX_CHARS or another role.
    """
    _checked(messages)
    if not messages:
        return []
    user_turns = sum(1 for message in messages if message.role == "user")
    last_cursor, turn_count = cursor_advance(
        session_id=session_id, count=len(messages), user_turns=user_turns, app_id=app.pk
    )
    turn_index = turn_count - user_turns
    events = []
    for message in messages:
        if message.role == "user":
            turn_index += 1
            payload = {"text": message.text, "turn_index": turn_index}
        else:
            payload = {"text": message.text, "bubbles": bubbles_split(message.text), "run_ref": None}
        events.append(NewEvent("message.created", payload, role=message.role))
    return events_append(session_id=session_id, events=events, last_cursor=last_cursor)


@transaction.atomic
def session_create_with_transcript(
    *,
    app: "App",
    character_slug: str | None,
    external_user_ref: str,
    messages: list[TranscriptMessage],
    title: str = "",
    system_prompt: str = "",
    model: str = "",
) -> Session:
    """``session_create`` and ``transcript_append`` in one transaction: a conversation that starts with the
    history it was given, or (any error) nothing at all. ``character_slug`` None: the app's built-in assistant
    (``characters.services.assistant_character_ensure``), created on first use in the same transaction."""
    _checked(messages)
    if character_slug is None:
        character_slug = characters_services.assistant_character_ensure(app=app).slug
    session = session_create(
        app=app,
        character_slug=character_slug,
        external_user_ref=external_user_ref,
        title=title,
        system_prompt=system_prompt,
        model=model,
    )
    if messages:
        events = transcript_append(app=app, session_id=session.id, messages=messages)
        session.last_cursor = events[-1].cursor
    return session
