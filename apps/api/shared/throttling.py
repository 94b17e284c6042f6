"""The one request-rate limiter of every API surface: DRF's default throttle, from the app's plan.

``REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]`` names ``PlanRateThrottle``, so every DRF view of every surface
(native, emotion, npc, studio, openai, and any added later) counts its authenticated requests without doing
anything; a surface only renders DRF's ``Throttled`` (it carries the wait for ``Retry-After``) in its own
error shape. Each API key has its own window of its app's ``Plan.requests_per_minute`` requests in any 60
seconds (``apps.core.rate_limits``); an app without a plan is not limited and gets no rate-limit headers.

Not counted: requests that authenticated as nobody (refused with 401 before the throttle runs), and views
with ``rate_limit_exempt = True``: minting a stream token, like opening or resuming a stream (plain Django
views and WebSocket consumers, which DRF never throttles), has connection limits of its own.

The state of the counter is left on the Django request for ``RateLimitHeadersMiddleware``, which puts the
``X-RateLimit-*`` headers on the response, the 429 included.
"""

from rest_framework.throttling import BaseThrottle

from apps.accounts import selectors as accounts_selectors
from apps.core.rate_limits import RateLimitState, rate_limit_hit

REQUEST_ATTR = "rate_limit"  # the RateLimitState of this request, on the Django HttpRequest


class PlanRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self.state: RateLimitState | None = None

    def allow_request(self, request, view) -> bool:
        app = request.user
        if app is None or getattr(view, "rate_limit_exempt", False):
            return True
        per_minute = accounts_selectors.app_requests_per_minute(app=app)
        if per_minute is None:
            return True
        # Per key, as plans promise; a staff user's browser session (no key) counts against its app.
        counter = f"key:{request.auth.pk}" if request.auth is not None else f"app:{app.pk}"
        self.state = rate_limit_hit(key=counter, per_minute=per_minute)
        if self.state is None:  # the counters' store is unreachable: not counted, no headers
            return True
        setattr(request._request, REQUEST_ATTR, self.state)
        return self.state.allowed

    def wait(self) -> float | None:
        return None if self.state is None else self.state.retry_after


class RateLimitHeadersMiddleware:
    """Adds ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` to the response of every request the
    throttle counted, refused ones included. Sync-only like the API stack's other middleware."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        state = getattr(request, REQUEST_ATTR, None)
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        return response
