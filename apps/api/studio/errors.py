"""Every failure on the studio surface in the seed's shape: ``{"error": "<message>"}``.

Statuses are the seed's: 400 for anything wrong with the request (a missing or malformed field, an age under
18, an ``llm_id`` or ``sd_model_id`` the catalog does not have), 401 for every key problem, 402 when a budget
or the app's balance has no room for the call (answered before any model call), 404 for an id that does not
exist or belongs to another app, 429 over the rate limit (with ``Retry-After``), 500 ``Internal error`` for a
bug. The few domain errors with a status of their own (a sandbox quota 403, a conflict 409, an image server's
502, a database outage 503) keep it, in the same shape.
"""

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.response import Response

from apps.accounts.errors import (
    ApiKeyExpired,
    ApiKeyInvalid,
    ApiKeyMissing,
    ApiKeyRevoked,
    BalanceInsufficient,
    StreamTokenExpired,
    StreamTokenInvalid,
)
from apps.api.shared.errors import (
    SERVICE_UNAVAILABLE_MESSAGE,
    Rendered,
    drf_error_response,
    payload_too_large_message,
    service_unavailable,
)
from apps.core.errors import ApplicationError, PaymentRequired, RateLimited, ValidationFailed, field_error_paths
from apps.llm.errors import ModelNotFound

logger = logging.getLogger(__name__)

INTERNAL_ERROR = "Internal error"
_KEY_ERRORS = (ApiKeyMissing, ApiKeyInvalid, ApiKeyRevoked, ApiKeyExpired, StreamTokenInvalid, StreamTokenExpired)


def error_body(message: str) -> dict[str, str]:
    return {"error": message}


def _fields(fields: dict[str, list[str]]) -> str:
    return "Invalid request: " + "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())


def render_error(exc: Exception) -> Rendered | None:
    """(body, status, headers) for ``exc``, or None for an unexpected exception (a bug)."""
    if service_unavailable(exc):
        return error_body(SERVICE_UNAVAILABLE_MESSAGE), 503, {"Retry-After": "2"}
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return error_body("Invalid or missing API key: send 'Authorization: Bearer <key>'."), 401, {}
    if isinstance(exc, _KEY_ERRORS):
        return error_body(exc.message), 401, {}
    if isinstance(exc, drf.Throttled):
        wait = max(1, int(exc.wait or 1))
        return error_body(f"Rate limit exceeded; retry in {wait} seconds."), 429, {"Retry-After": str(wait)}
    if isinstance(exc, RateLimited):
        return error_body(exc.message), 429, {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, BalanceInsufficient):  # its message says so already
        return error_body(exc.message), 402, {}
    if isinstance(exc, PaymentRequired):
        return error_body(f"Insufficient account balance: {exc.message}"), 402, {}
    if isinstance(exc, ValidationFailed):
        return error_body(_fields(exc.fields)), 400, {}
    if isinstance(exc, ModelNotFound):  # a model id is always a request field here: a bad parameter
        return error_body(exc.message), 400, {}
    if isinstance(exc, ApplicationError):
        if "fields" in exc.details:
            return error_body(_fields(exc.details["fields"])), 400, {}
        return error_body(exc.message), exc.status, {}
    if isinstance(exc, drf.ValidationError):
        return error_body(_fields(field_error_paths(exc.detail))), 400, {}
    if isinstance(exc, drf.ParseError | drf.UnsupportedMediaType):
        return error_body(f"Invalid request body: {exc.detail}"), 400, {}
    if isinstance(exc, RequestDataTooBig):
        return error_body("The request body is too large."), 413, {}
    if isinstance(exc, Http404 | drf.NotFound):
        return error_body("Not found."), 404, {}
    if isinstance(exc, drf.APIException):  # MethodNotAllowed (405), NotAcceptable (406)
        return error_body(str(exc.detail)), exc.status_code, {}
    return None


def studio_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    rendered = render_error(exc)
    if rendered is None:
        # The seed promises a body for a server error too; the exception is logged, never shown.
        logger.error("Studio request failed", exc_info=exc)
        rendered = error_body(INTERNAL_ERROR), 500, {}
    return drf_error_response(rendered, context)


@csrf_exempt  # an API URL: a POST to an unknown one is a 404 in the seed's shape, not the CSRF page's 403
def not_found_view(request, *args, **kwargs) -> JsonResponse:
    return JsonResponse(error_body(f"No endpoint at {request.path}."), status=404)


def payload_too_large_response(request, *, length: int, limit: int) -> JsonResponse:
    """The 413 that ``RequestSizeLimitMiddleware`` answers before anything reads the body, in the seed's shape."""
    return JsonResponse(error_body(payload_too_large_message(length=length, limit=limit)), status=413)
