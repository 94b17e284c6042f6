"""Every failure on the NPC surface in Foil's shape, ``{"error": {"code", "message"}}`` (the SDK reads
``error.message`` and maps the status to its exception class).

Statuses are the ones the SDK knows: 401 for every key problem (missing, unknown, revoked, expired), 400 for
a request it should not have sent (a missing field, an empty message, a finished playthrough), 403 for a
persona or machine the key may see but not use (not published, locked, another app's public persona to
change), 404 for what does not exist or is another app's private persona, 422 for a scenario that breaks
the graph rules, 429 for rate limits. A concurrent message that moved the player first is 409.
"""

from typing import Any

from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.response import Response

from apps.accounts.errors import ApiKeyExpired, ApiKeyInvalid, ApiKeyMissing, ApiKeyRevoked
from apps.api.shared.errors import (
    SERVICE_UNAVAILABLE_MESSAGE,
    Rendered,
    drf_error_response,
    payload_too_large_message,
    service_unavailable,
)
from apps.core.errors import ApplicationError, NotFound, PermissionDenied, RateLimited, ValidationFailed
from apps.npcs.errors import PlaythroughFinished, ScenarioInvalid

KEY_HEADER = 'ApiKey header="X-API-Key"'


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def _fields(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{name}: {' '.join(str(m) for m in msgs)}" for name, msgs in detail.items())
    return str(detail)


def render_error(exc: Exception) -> Rendered | None:
    """(body, status, headers) for ``exc``, or None for an unexpected exception (a bug: Django answers 500)."""
    if service_unavailable(exc):
        return error_body("service_unavailable", SERVICE_UNAVAILABLE_MESSAGE), 503, {"Retry-After": "2"}
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return error_body("missing_api_key", "Send your API key in the X-API-Key header."), 401, {}
    if isinstance(exc, ApiKeyMissing | ApiKeyInvalid | ApiKeyRevoked | ApiKeyExpired):
        return error_body(exc.code, exc.message), 401, {}
    if isinstance(exc, drf.Throttled):
        return error_body("rate_limited", "Too many requests."), 429, {"Retry-After": str(max(1, int(exc.wait or 1)))}
    if isinstance(exc, RateLimited):
        return error_body(exc.code, exc.message), 429, {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, ScenarioInvalid):
        return error_body(exc.code, exc.message, fields=exc.details.get("fields", {})), 422, {}
    if isinstance(exc, ValidationFailed | PlaythroughFinished):
        extra = {"fields": exc.details["fields"]} if "fields" in exc.details else {}
        return error_body(exc.code, exc.message, **extra), 400, {}
    if isinstance(exc, NotFound | PermissionDenied | ApplicationError):
        return error_body(exc.code, exc.message), exc.status, {}
    if isinstance(exc, drf.ValidationError):
        return error_body("bad_request", f"Invalid request: {_fields(exc.detail)}"), 400, {}
    if isinstance(exc, drf.ParseError | drf.UnsupportedMediaType):
        return error_body("bad_request", f"Invalid request body: {exc.detail}"), 400, {}
    if isinstance(exc, Http404 | drf.NotFound):
        return error_body("not_found", "Not found."), 404, {}
    if isinstance(exc, drf.APIException):
        return error_body("error", str(exc.detail)), exc.status_code, {}
    return None


def npc_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    rendered = render_error(exc)
    if rendered is not None and rendered[1] == 401:
        rendered[2].setdefault("WWW-Authenticate", KEY_HEADER)  # before the shared one adds the bearer challenge
    return drf_error_response(rendered, context)


@csrf_exempt  # an API URL: a POST to an unknown one is a 404 in Foil's shape, not the CSRF page's 403
def not_found_view(request, *args, **kwargs) -> JsonResponse:
    return JsonResponse(error_body("not_found", f"No endpoint at {request.path}."), status=404)


def payload_too_large_response(request, *, length: int, limit: int) -> JsonResponse:
    """The 413 that ``RequestSizeLimitMiddleware`` answers before anything reads the body, in Foil's shape."""
    message = payload_too_large_message(length=length, limit=limit)
    return JsonResponse(error_body("payload_too_large", message), status=413)
