"""Rendering every failure on the native surface as ``{"detail": {code, message, fix}}``."""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from apps.accounts.errors import ApiKeyMissing
from apps.api.shared.authentication import BEARER_CHALLENGE
from apps.api.shared.errors import (
    Rendered,
    application_error_body,
    drf_error_response,
    error_body,
    json_error_response,
    outage_response,
    payload_too_large_message,
    service_unavailable,
)
from apps.core.errors import ApplicationError, RateLimited, ValidationFailed, field_error_paths

_DRF_CODES: dict[type[drf.APIException], tuple[str, int, str]] = {
    drf.AuthenticationFailed: ("invalid_api_key", 403, "Check the API key."),
    drf.PermissionDenied: ("permission_denied", 403, "This key may not do that."),
    drf.NotFound: ("not_found", 404, "Check the URL and the id."),
    drf.MethodNotAllowed: ("method_not_allowed", 405, "See GET /v1/openapi.json for the allowed methods."),
    drf.NotAcceptable: ("not_acceptable", 406, "Accept application/json."),
    drf.UnsupportedMediaType: ("unsupported_media_type", 415, "Send the body as application/json."),
    drf.Throttled: ("rate_limited", 429, "Wait and retry with backoff."),
}


def render_error(exc: Exception) -> Rendered | None:
    if service_unavailable(exc):
        body = error_body("service_unavailable", "The service is temporarily unavailable.", "Retry in a few seconds.")
        return body, 503, {"Retry-After": "2"}
    if isinstance(exc, drf.NotAuthenticated):  # raised by DRF when the HasApp permission refuses
        exc = ApiKeyMissing(str(exc.detail))
    if isinstance(exc, RateLimited):
        return application_error_body(exc), exc.status, {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, ApplicationError):
        return application_error_body(exc), exc.status, {}
    if isinstance(exc, drf.ValidationError):
        fields = field_error_paths(exc.detail)
        summary = "; ".join(f"{name}: {' '.join(problems)}" for name, problems in fields.items())
        body = error_body("validation_error", f"Invalid request: {summary}", ValidationFailed.fix, fields=fields)
        return body, 422, {}
    if isinstance(exc, drf.ParseError):
        return error_body("invalid_json", f"The body is not valid JSON: {exc.detail}", "Send a JSON object."), 422, {}
    if isinstance(exc, RequestDataTooBig):
        return error_body("payload_too_large", "The request body is too large.", "Send a smaller body."), 413, {}
    if isinstance(exc, Http404):
        return error_body("not_found", "Not found.", "Check the URL and the id."), 404, {}
    for exc_type, (code, status, fix) in _DRF_CODES.items():
        if isinstance(exc, exc_type):
            headers = {"Retry-After": str(exc.wait)} if isinstance(exc, drf.Throttled) and exc.wait else {}
            if status == 401:
                headers["WWW-Authenticate"] = BEARER_CHALLENGE
            return error_body(code, str(exc.detail), fix), status, headers
    return None


def native_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER for every surface that has not registered its own shape."""
    return drf_error_response(render_error(exc), context)


def json_error(exc: ApplicationError) -> JsonResponse:
    """The same body for plain Django views (the SSE stream)."""
    return json_error_response(render_error(exc))  # type: ignore[arg-type]


def payload_too_large_response(request, *, length: int, limit: int) -> JsonResponse:
    """The 413 that ``RequestSizeLimitMiddleware`` answers before anything reads the body."""
    message = payload_too_large_message(length=length, limit=limit)
    return JsonResponse(error_body("payload_too_large", message, "Send a smaller request body."), status=413)


def not_found_view(request, exception=None) -> JsonResponse:
    return JsonResponse(
        error_body("not_found", f"No endpoint at {request.path}.", "See GET /v1/openapi.json."), status=404
    )


def server_error_view(request) -> JsonResponse:
    """``handler500``: an outage that escaped the surfaces' own handlers is still their 503; the rest is a bug."""
    outage = outage_response(request)
    if outage is not None:
        return outage
    return JsonResponse(
        error_body("internal_error", "Something went wrong on our side.", "Retry; report it if it persists."),
        status=500,
    )
