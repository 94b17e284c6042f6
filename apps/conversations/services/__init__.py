"""Writes and workflows of the conversations app, one topic per module."""

from apps.conversations.services.events import NewEvent, cursor_advance, events_append
from apps.conversations.services.idempotency import idempotency_records_purge
from apps.conversations.services.messages import SendResult, message_send
from apps.conversations.services.runs import RunOutcome, run_execute, runs_recover
from apps.conversations.services.sessions import session_create

__all__ = [
    "NewEvent",
    "RunOutcome",
    "SendResult",
    "cursor_advance",
    "events_append",
    "idempotency_records_purge",
    "message_send",
    "run_execute",
    "runs_recover",
    "session_create",
]
