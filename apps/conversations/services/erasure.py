"""Erasing an end-user's conversations (a GDPR request): the conversations app's share of
``apps.delivery.services.external_user_erase``, which calls each app for its own rows in one transaction."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction

from apps.conversations.models import (
    Event,
    IdempotencyRecord,
    Memory,
    MemoryFact,
    ProactiveSend,
    Run,
    SelfieDayCount,
    Session,
)

if TYPE_CHECKING:
    from apps.accounts.models import App


@dataclass(frozen=True)
class ConversationsErased:
    sessions: int
    events: int
    runs: int
    memories: int
    facts: int
    selfie_day_counts: int
    idempotency_records: int


def _deleted(queryset) -> int:
    _, per_model = queryset.delete()
    return per_model.get(queryset.model._meta.label, 0)


def external_user_conversations_erase(
    *, app: "App", external_user_ref: str, session_ids: list[str]
) -> ConversationsErased:
    """Delete the end-user's sessions (``session_ids``, which the caller locked with
    ``selectors.end_user_sessions_lock``) with their events, runs and proactive sends; what every character of
    the app knows about the user (memories with all their facts); the user's selfie day counts; and the
    Idempotency-Key records of messages sent to those sessions (they keep a digest of the text). Other apps'
    users with the same ref are not touched. Runs in the caller's transaction, or its own."""
    with transaction.atomic():
        idempotency = _deleted(
            IdempotencyRecord.objects.filter(app=app, scope__in=[f"message_send:{sid}" for sid in session_ids])
        )
        events = _deleted(Event.objects.filter(session_id__in=session_ids))
        ProactiveSend.objects.filter(session_id__in=session_ids).delete()
        runs = _deleted(Run.objects.filter(session_id__in=session_ids))
        memories = Memory.objects.filter(app=app, external_user_ref=external_user_ref)
        facts = _deleted(MemoryFact.objects.filter(memory__in=memories))
        sessions = _deleted(Session.objects.filter(app=app, pk__in=session_ids))
        memory_count = _deleted(memories)
        day_counts = _deleted(SelfieDayCount.objects.filter(app=app, external_user_ref=external_user_ref))
    return ConversationsErased(
        sessions=sessions,
        events=events,
        runs=runs,
        memories=memory_count,
        facts=facts,
        selfie_day_counts=day_counts,
        idempotency_records=idempotency,
    )
