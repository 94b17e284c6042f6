"""The one place that reads the time, so tests and services agree on "now".

A test stack may run it faster than the wall clock (``CLOCK_RATE`` from ``CLOCK_EPOCH``, see the settings), so
that a simulated day passes in a minute across separate processes; otherwise it is the wall clock.
"""

from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone


def now() -> datetime:
    real = timezone.now()
    rate = settings.CLOCK_RATE
    if rate == 1.0:
        return real
    epoch = datetime.fromtimestamp(settings.CLOCK_EPOCH, UTC)
    return epoch + (real - epoch) * rate
