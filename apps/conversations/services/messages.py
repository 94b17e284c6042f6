"""Accepting a user's message: the synchronous half of a turn."""

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from apps.accounts import services as accounts_services
from apps.conversations import selectors
from apps.conversations.errors import IdempotencyKeyReused, MessageInvalid
from apps.conversations.models import IdempotencyRecord, Run
from apps.conversations.services import metering
from apps.conversations.services.events import NewEvent, cursor_advance, events_append
from apps.conversations.services.idempotency import idempotency_answer_save, idempotency_claim, request_fingerprint
from apps.core import clock, executor

# Named, not imported: the tasks module imports these services.
RUN_EXECUTE_TASK = "apps.conversations.tasks.run_execute_task"

if TYPE_CHECKING:
    from apps.accounts.models import App


@dataclass(frozen=True)
class SendResult:
    accepted: bool
    cursor: int
    sent_turn_index: int
    run_ref: str
    reply_mode: str = "async"


def _text_check(app: "App", text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise MessageInvalid({"text": ["Must be a non-empty string."]})
    accounts_services.app_message_length_check(app=app, text=text)
    if len(text) > settings.MESSAGE_MAX_CHARS:
        raise MessageInvalid({"text": [f"At most {settings.MESSAGE_MAX_CHARS} characters (got {len(text)})."]})
    return text


@transaction.atomic
def message_send(
    *, app: "App", session_id: str, text: str, idempotency_key: str | None = None, dispatch: bool = True
) -> SendResult:
    """Accept an end-user's message and queue the character's reply.

    In one transaction: check the text, reserve two cursors (row-locking the session, and raising
    SessionNotFound unless it is the app's), append ``message.created`` (role user) and ``run.status``
    (generating), create the Run, and count the message against the app's caps. After commit the run is
    dispatched to a worker and the events announced. With an ``idempotency_key`` a retry of the same
    request returns the first answer; a different request with the same key raises
    IdempotencyKeyReused (422); too many unanswered turns on the session or the app raises TooManyPendingTurns.

    ``dispatch=False`` leaves the run queued for the caller to execute in its own thread (``message_turn``); if
    the caller never does, the recovery sweep dispatches it like any run whose dispatch was lost.
    """
    text = _text_check(app, text)
    record = None
    if idempotency_key:
        fingerprint = request_fingerprint({"text": text})
        try:
            claimed = idempotency_claim(
                app=app, key=idempotency_key, scope=f"message_send:{session_id}", fingerprint=fingerprint
            )
        except IdempotencyKeyReused:
            # A key reused on a session that is not the app's must look like any unknown session (404).
            selectors.session_get(app=app, session_id=session_id)
            raise
        if not isinstance(claimed, IdempotencyRecord):
            return SendResult(**claimed)
        record = claimed
    metering.message_budget_check(app=app, session_id=session_id, text=text)  # 402 before anything is written
    # The cursor UPDATE also checks that the session is the app's: one statement instead of a lookup first.
    # The same statement counts the session's and the app's unanswered turns (TooManyPendingTurns, 429): over
    # either limit the transaction rolls back, idempotency record included, so nothing is written.
    last_cursor, turn_index = cursor_advance(
        session_id=session_id,
        count=2,
        user_turns=1,
        app_id=app.pk,
        pending_limits=(settings.TURNS_MAX_PENDING_PER_SESSION, settings.TURNS_MAX_PENDING_PER_APP),
    )
    user_cursor = last_cursor - 1
    run = Run.objects.create(session_id=session_id, trigger_cursor=user_cursor, available_at=clock.now())
    events_append(
        session_id=session_id,
        last_cursor=last_cursor,
        events=[
            NewEvent("message.created", {"text": text, "turn_index": turn_index}, role="user"),
            NewEvent("run.status", {"status": "generating", "run_ref": run.id}, run_id=run.id),
        ],
    )
    result = SendResult(accepted=True, cursor=user_cursor, sent_turn_index=turn_index, run_ref=run.id)
    if record is not None:
        idempotency_answer_save(record=record, response=asdict(result))
    # Last, because it row-locks the app until commit and every send of the app queues behind that lock:
    # taken first, it serialised whole transactions (~50 sends/s); taken here, only the commit.
    accounts_services.app_quota_consume(app=app, resource="user_messages")
    if dispatch:
        run_id = run.id
        transaction.on_commit(lambda: executor.submit(RUN_EXECUTE_TASK, run_id))
    return result
