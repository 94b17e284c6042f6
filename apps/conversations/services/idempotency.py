"""Keeping ``Idempotency-Key`` records only as long as retries are expected."""

from datetime import timedelta

from django.conf import settings

from apps.conversations.models import IdempotencyRecord
from apps.core import clock


def idempotency_records_purge(*, older_than: timedelta | None = None) -> int:
    """Delete records older than ``older_than`` (default ``IDEMPOTENCY_KEY_TTL_HOURS``); return how many.

    After that a key is free again: a request reusing it is a new request.
    """
    age = older_than if older_than is not None else timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=clock.now() - age).delete()
    return deleted
