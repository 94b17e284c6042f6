"""Rendering every failure on the emotion surface in molroo's shape: ``{"error": {code, status, message}}``.

molroo's codes are upper-case (``UNAUTHORIZED``, ``VALIDATION_ERROR``, ``INVALID_PRESET``, ``NOT_FOUND``,
``RATE_LIMIT``). Every key problem is a 401 here (molroo has one code for a missing and a bad key), every
body problem a 400, except a body over the size limit: 413 ``PAYLOAD_TOO_LARGE``, in the same shape.
Validation errors add ``details.fields`` (field path -> messages); clients that only know molroo's three
fields can ignore it.
"""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from apps.accounts.errors import (
    ApiKeyExpired,
    ApiKeyInvalid,
    ApiKeyMissing,
    ApiKeyRevoked,
    StreamTokenExpired,
    StreamTokenInvalid,
)
from apps.api.shared.authentication import BEARER_CHALLENGE
from apps.api.shared.errors import (
    SERVICE_UNAVAILABLE_MESSAGE,
    Rendered,
    drf_error_response,
    payload_too_large_message,
    service_unavailable,
)
from apps.core.errors import ApplicationError, NotFound, RateLimited, field_error_paths

AUTH_HEADER = {"WWW-Authenticate": BEARER_CHALLENGE}


def error_body(code: str, status: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "status": status, "message": message, **extra}}


def _validation(fields: dict[str, list[str]], message: str | None = None) -> Rendered:
    summary = message or "Invalid request: " + "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in fields.items())
    return error_body("VALIDATION_ERROR", 400, summary, details={"fields": fields}), 400, {}


def render_error(exc: Exception) -> Rendered | None:
    """(body, status, headers) for ``exc``, or None for an unexpected exception (a bug: Django answers 500)."""
    if service_unavailable(exc):
        return error_body("SERVICE_UNAVAILABLE", 503, SERVICE_UNAVAILABLE_MESSAGE), 503, {"Retry-After": "2"}
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return error_body("UNAUTHORIZED", 401, "Invalid or missing API key."), 401, dict(AUTH_HEADER)
    if isinstance(
        exc, ApiKeyMissing | ApiKeyInvalid | ApiKeyRevoked | ApiKeyExpired | StreamTokenInvalid | StreamTokenExpired
    ):
        return error_body("UNAUTHORIZED", 401, exc.message), 401, dict(AUTH_HEADER)
    if isinstance(exc, drf.Throttled):
        wait = max(1, int(exc.wait or 1))
        return error_body("RATE_LIMIT", 429, "Too many requests."), 429, {"Retry-After": str(wait)}
    if isinstance(exc, RateLimited):
        return error_body("RATE_LIMIT", 429, exc.message), 429, {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, ApplicationError):
        if exc.code == "invalid_preset":
            return error_body("INVALID_PRESET", 400, exc.message), 400, {}
        if exc.code == "validation_error" or "fields" in exc.details:
            return _validation(exc.details.get("fields", {}), exc.message)
        if isinstance(exc, NotFound):
            return error_body("NOT_FOUND", 404, exc.message), 404, {}
        return error_body(exc.code.upper(), exc.status, exc.message), exc.status, {}
    if isinstance(exc, drf.ValidationError):
        return _validation(field_error_paths(exc.detail))
    if isinstance(exc, drf.ParseError | drf.UnsupportedMediaType):
        return _validation({"body": [str(exc.detail)]}, f"Invalid request body: {exc.detail}")
    if isinstance(exc, RequestDataTooBig):
        return error_body("PAYLOAD_TOO_LARGE", 413, "The request body is too large."), 413, {}
    if isinstance(exc, Http404 | drf.NotFound):
        return error_body("NOT_FOUND", 404, "Not found."), 404, {}
    if isinstance(exc, drf.MethodNotAllowed):
        return error_body("METHOD_NOT_ALLOWED", 405, str(exc.detail)), 405, {}
    if isinstance(exc, drf.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
        return error_body(str(code).upper(), exc.status_code, str(exc.detail)), exc.status_code, {}
    return None


def emotion_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    return drf_error_response(render_error(exc), context)


def payload_too_large_response(request, *, length: int, limit: int) -> JsonResponse:
    """The 413 that ``RequestSizeLimitMiddleware`` answers before anything reads the body, in molroo's shape."""
    message = payload_too_large_message(length=length, limit=limit)
    return JsonResponse(error_body("PAYLOAD_TOO_LARGE", 413, message), status=413)


def not_found_view(request, *args, **kwargs) -> JsonResponse:
    return JsonResponse(error_body("NOT_FOUND", 404, f"No endpoint at {request.path}."), status=404)
