"""Per-key request rate on the emotion surface (molroo's ``RATE_LIMIT``), counted in the shared cache.

A fixed one-minute window per API key: ``cache.add`` opens the window and ``cache.incr`` counts in it, both
atomic in Redis, so the limit holds across every web process. ``EMOTION_RATE_LIMIT_PER_MINUTE`` = 0 turns
it off (the default: a self-hosted operator sizes the machine, not a plan).
"""

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

WINDOW_SECONDS = 60


class ApiKeyMinuteThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait = 0.0

    def allow_request(self, request, view) -> bool:
        limit = settings.EMOTION_RATE_LIMIT_PER_MINUTE
        if limit <= 0 or request.auth is None:
            return True
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        key = f"emotion-rate:{request.auth.pk}:{window}"
        cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: this request opens a new window
            cache.add(key, 1, timeout=WINDOW_SECONDS + 5)
            count = 1
        if count <= limit:
            return True
        self._wait = (window + 1) * WINDOW_SECONDS - now
        return False

    def wait(self) -> float:
        return self._wait
