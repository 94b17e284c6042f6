"""``Idempotency-Key``: claiming a key for a request, replaying the first answer to its retries, and keeping
the records only as long as retries are expected."""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.conversations.errors import IdempotencyKeyInFlight, IdempotencyKeyReused
from apps.conversations.models import IdempotencyRecord
from apps.core import clock

if TYPE_CHECKING:
    from apps.accounts.models import App


def request_fingerprint(body: Any) -> str:
    """What identifies a request's body: its canonical JSON, hashed."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def idempotency_claim(*, app: "App", key: str, scope: str, fingerprint: str) -> IdempotencyRecord | dict[str, Any]:
    """Insert the key's record (to be given its ``response`` in the same transaction), or return the first
    answer when the key was used before for this request. Raises IdempotencyKeyReused (another request) and
    IdempotencyKeyInFlight (the first one has not finished)."""
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(app=app, key=key, scope=scope, fingerprint=fingerprint)
    except IntegrityError:
        existing = IdempotencyRecord.objects.get(app=app, key=key)
    if existing.scope != scope or existing.fingerprint != fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request.")
    if existing.response is None:
        raise IdempotencyKeyInFlight("The first request with this Idempotency-Key has not finished.")
    return existing.response


def idempotency_answer_save(*, record: IdempotencyRecord, response: dict[str, Any]) -> None:
    """Keep the first answer of the request that claimed ``record``, for its retries to replay."""
    record.response = response
    record.save(update_fields=["response"])


@transaction.atomic
def idempotent_answer(
    *, app: "App", key: str | None, scope: str, body: Any, answer: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """``answer()`` (a write and its response body), once per ``key``: a retry with the same key and body gets
    the first answer back; without a key every call answers anew. The record commits with the write."""
    if not key:
        return answer()
    claimed = idempotency_claim(app=app, key=key, scope=scope, fingerprint=request_fingerprint(body))
    if not isinstance(claimed, IdempotencyRecord):
        return claimed
    response = answer()
    idempotency_answer_save(record=claimed, response=response)
    return response


def idempotency_records_purge(*, older_than: timedelta | None = None) -> int:
    """Delete records older than ``older_than`` (default ``IDEMPOTENCY_KEY_TTL_HOURS``); return how many.

    After that a key is free again: a request reusing it is a new request.
    """
    age = older_than if older_than is not None else timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=clock.now() - age).delete()
    return deleted
