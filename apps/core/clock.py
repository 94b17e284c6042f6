"""The one place that reads the time, so tests and services agree on "now"."""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
