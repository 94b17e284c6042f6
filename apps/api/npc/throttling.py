"""A per-app request budget on the NPC surface: ``NPC_REQUESTS_PER_MINUTE`` requests in each clock minute
(0, the default, is no limit). Over it, a request is answered 429 with ``Retry-After`` (the seconds left in
the minute), which Foil's SDK turns into ``RateLimitError`` and waits out before it retries.

One counter per app and minute in Django's cache (Redis in production, so every process shares it): an
``add`` and an atomic ``incr``, no read-modify-write race.
"""

import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

WINDOW_SECONDS = 60


class AppMinuteThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        limit = settings.NPC_REQUESTS_PER_MINUTE
        app = request.user
        if not limit or getattr(app, "pk", None) is None:
            return True
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        key = f"npc-rate:{app.pk}:{window}"
        cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
        self._wait = (window + 1) * WINDOW_SECONDS - now
        return cache.incr(key) <= limit

    def wait(self) -> float:
        return max(1.0, math.ceil(self._wait))
