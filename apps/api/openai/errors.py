"""Every failure on the OpenAI surface in OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``,
with the statuses OpenAI's clients map to their exception classes.

- 401 ``invalid_api_key`` for every key problem (missing, unknown, revoked, expired): ``AuthenticationError``.
- 400 ``invalid_request_error`` for a request the client should not have sent, ``param`` naming the field
  (``BadRequestError``); our 422 validation errors are 400 here, as OpenAI has no 422.
- 404 ``model_not_found`` for a model that is not ours to use: unknown, another app's character, a character
  never published, a chat model asked to draw (``NotFoundError``); other unknown things are plain 404s.
- 402 ``insufficient_quota`` when a budget or the app's balance has no room (before any model call), and 429
  ``insufficient_quota`` for a spent plan quota (sessions). Neither is worth retrying, so they carry
  ``x-should-retry: false``, which OpenAI's clients obey.
- 429 ``rate_limit_exceeded`` over the plan's request limit, with ``Retry-After`` (``RateLimitError``; the
  client waits it out and retries).
- 500 ``server_error`` for a bug (the middleware logs it), 503 when the database or the model is unavailable.
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
from apps.characters.errors import CharacterNotFound, CharacterNotPublished
from apps.core.errors import (
    ApplicationError,
    PaymentRequired,
    QuotaExceeded,
    RateLimited,
    UpstreamUnavailable,
    ValidationFailed,
)
from apps.llm.errors import ModelNotFound

INVALID_REQUEST = "invalid_request_error"
NO_RETRY = {"x-should-retry": "false"}


class ModelUnavailable(ApplicationError):
    """A model name this surface cannot use for the call (a character on images, an image model on chat)."""

    code = "model_not_found"
    status = 404


def error_body(message: str, type_: str = INVALID_REQUEST, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def model_missing_message(model: str) -> str:
    return f"The model `{model}` does not exist or you do not have access to it."


def _first_field(detail: Any, prefix: str = "") -> tuple[str | None, str]:
    """The first invalid field's path (``messages[0].role``) and its first message, from DRF's nested errors."""
    if isinstance(detail, dict) and detail:
        name, problems = next(iter(detail.items()))
        if name == "non_field_errors":
            path = prefix
        elif isinstance(name, int):  # a list's item
            path = f"{prefix}[{name}]"
        else:
            path = f"{prefix}.{name}" if prefix else str(name)
        return _first_field(problems, path)
    if isinstance(detail, list) and detail:
        for index, item in enumerate(detail):
            if isinstance(item, dict | list) and item:
                return _first_field(item, f"{prefix}[{index}]")
            if item:
                return (prefix or None), str(item)
    return (prefix or None), str(detail)


def _validation(exc: ValidationFailed) -> Rendered:
    fields = exc.details.get("fields") or {}
    param = next(iter(fields), None)
    message = f"{param}: {' '.join(fields[param])}" if param else exc.message
    return error_body(message, param=param, code="invalid_value"), 400, {}


def render_error(exc: Exception) -> Rendered | None:
    """(body, status, headers) for ``exc``, or None for an unexpected exception (a bug: Django answers 500)."""
    if service_unavailable(exc):
        return (
            error_body(SERVICE_UNAVAILABLE_MESSAGE, "server_error", None, "service_unavailable"),
            503,
            {"Retry-After": "2"},
        )
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed | ApiKeyMissing):
        message = "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."
        return error_body(message, code="invalid_api_key"), 401, {}
    if isinstance(exc, ApiKeyInvalid | ApiKeyRevoked | ApiKeyExpired):
        return error_body(f"Incorrect API key provided: {exc.message}", code="invalid_api_key"), 401, {}
    if isinstance(exc, drf.Throttled):
        wait = str(max(1, int(exc.wait or 1)))
        return (
            error_body("Rate limit reached for requests.", "requests", None, "rate_limit_exceeded"),
            429,
            {"Retry-After": wait},
        )
    if isinstance(exc, RateLimited):
        return error_body(exc.message, "requests", None, exc.code), 429, {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, PaymentRequired):
        return error_body(exc.message, "insufficient_quota", None, "insufficient_quota"), 402, dict(NO_RETRY)
    if isinstance(exc, QuotaExceeded):
        return error_body(exc.message, "insufficient_quota", None, "insufficient_quota"), 429, dict(NO_RETRY)
    if isinstance(exc, ModelNotFound | CharacterNotFound | CharacterNotPublished | ModelUnavailable):
        return error_body(exc.message, param="model", code="model_not_found"), 404, {}
    if isinstance(exc, ValidationFailed):
        return _validation(exc)
    if isinstance(exc, UpstreamUnavailable):
        return error_body(exc.message, "server_error", None, exc.code), 503, {}
    if isinstance(exc, ApplicationError):
        status = 400 if exc.status == 422 else exc.status
        type_ = "server_error" if status >= 500 else INVALID_REQUEST
        return error_body(exc.message, type_, None, exc.code), status, {}
    if isinstance(exc, drf.ValidationError):
        param, message = _first_field(exc.detail)
        return error_body(f"{param}: {message}" if param else message, param=param, code="invalid_value"), 400, {}
    if isinstance(exc, drf.ParseError | drf.UnsupportedMediaType):
        return error_body(f"We could not parse the JSON body of your request: {exc.detail}"), 400, {}
    if isinstance(exc, drf.MethodNotAllowed):
        return error_body(str(exc.detail), code="method_not_allowed"), 405, {}
    if isinstance(exc, Http404 | drf.NotFound):
        return error_body("Not found.", code="not_found"), 404, {}
    if isinstance(exc, drf.APIException):
        return error_body(str(exc.detail), code=str(exc.default_code)), exc.status_code, {}
    return None


def openai_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    return drf_error_response(render_error(exc), context)


def stream_error_body(exc: Exception) -> dict[str, Any]:
    """What a stream that already started sends when the reply fails: the error's body, as OpenAI does in an
    SSE frame (a bug is a plain ``server_error``, its details kept in the log)."""
    rendered = render_error(exc)
    if rendered is None:
        return error_body("The server had an error while processing your request.", "server_error")
    return rendered[0]


@csrf_exempt  # an API URL: a POST to an unknown one is a 404 in OpenAI's shape, not the CSRF page's 403
def not_found_view(request, *args, **kwargs) -> JsonResponse:
    message = f"Invalid URL ({request.method} {request.path})"
    return JsonResponse(error_body(message, code="unknown_url"), status=404)


def payload_too_large_response(request, *, length: int, limit: int) -> JsonResponse:
    """The 413 that ``RequestSizeLimitMiddleware`` answers before anything reads the body, in OpenAI's shape."""
    message = payload_too_large_message(length=length, limit=limit)
    return JsonResponse(error_body(message, code="payload_too_large"), status=413)
