"""The parts of error rendering every surface shares; each surface keeps its own body shape and code table.

A surface turns an exception into ``Rendered`` (body, status, headers), or None for an unexpected exception
(a bug: Django answers 500). These functions turn that into DRF's or plain Django's response the same way
on every surface. ``error_body`` is the house shape (``{"detail": {code, message, fix}}``): the native
surface's, and the answer of endpoints that belong to no client's protocol (inbound webhooks).

An outage of PostgreSQL or Redis is a 503 in the surface's shape, never a 500: each surface's handler maps it,
and ``outage_response`` (called by the project's ``handler500``) maps what escapes them (middleware, plain
views such as the SSE stream, a stream's authentication) through ``settings.ERROR_RENDERERS``.
"""

import sys
from functools import cache
from typing import Any

from django.conf import settings
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import JsonResponse
from django.utils.module_loading import import_string
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework.response import Response
from rest_framework.views import set_rollback

from apps.api.shared.authentication import BEARER_CHALLENGE
from apps.core.errors import ApplicationError

Rendered = tuple[dict[str, Any], int, dict[str, str]]


def error_body(code: str, message: str, fix: str, **extra: Any) -> dict[str, Any]:
    return {"detail": {"code": code, "message": message, "fix": fix, **extra}}


def application_error_body(exc: ApplicationError) -> dict[str, Any]:
    """``exc`` in the house shape, with its ``fields`` (field path -> messages) when it has them."""
    extra = {"fields": exc.details["fields"]} if "fields" in exc.details else {}
    return error_body(exc.code, exc.message, exc.fix_hint, **extra)


def application_error_response(exc: ApplicationError) -> JsonResponse:
    """``exc`` in the house shape for a plain Django view."""
    return JsonResponse(application_error_body(exc), status=exc.status)


SERVICE_UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; retry in a few seconds."


def service_unavailable(exc: BaseException) -> bool:
    """PostgreSQL is down, restarting or (SQLite) busy, or Redis cannot be reached: a retryable outage (503),
    not a bug."""
    return isinstance(exc, DatabaseOperationalError | DatabaseInterfaceError | RedisConnectionError | RedisTimeoutError)


@cache
def _renderers() -> list[tuple[str, Any]]:
    paths = settings.ERROR_RENDERERS
    return sorted(((prefix, import_string(path)) for prefix, path in paths.items()), key=lambda item: -len(item[0]))


def outage_response(request) -> JsonResponse | None:
    """For ``handler500``: the 503 of the surface under ``request.path`` when the exception being handled is an
    outage (``service_unavailable``); None for anything else, which stays a 500."""
    exc = sys.exc_info()[1]
    if exc is None or not service_unavailable(exc):
        return None
    render = next(render for prefix, render in _renderers() if request.path.startswith(prefix))
    return json_error_response(render(exc))


def payload_too_large_message(*, length: int, limit: int) -> str:
    """What every surface says when ``RequestSizeLimitMiddleware`` refuses a body before anything reads it."""
    return f"The request body is {length} bytes; the limit is {limit}."


def _settle_rejected_authentication(request) -> None:
    """A rejected key leaves DRF's ``request.user`` unset, so reading it (as the browsable API's renderer
    does) would raise again and turn the 403 into a 500; settle it as anonymous."""
    try:
        request.user  # noqa: B018 - evaluated for its side effect
    except ApplicationError:
        request._not_authenticated()  # what DRF itself does when one of its own authentication errors is raised


def drf_error_response(rendered: Rendered | None, context: dict[str, Any]) -> Response | None:
    """What a surface's DRF ``EXCEPTION_HANDLER`` returns for its ``rendered`` exception.

    Adds the bearer challenge to a 401, settles a rejected authentication and rolls the request's
    transaction back.
    """
    if rendered is None:
        return None  # a bug: let Django answer 500 and log it
    body, status, headers = rendered
    if status == 401:
        headers.setdefault("WWW-Authenticate", BEARER_CHALLENGE)
    request = context.get("request")
    if status in (401, 403) and request is not None:
        _settle_rejected_authentication(request)
    set_rollback()
    return Response(body, status=status, headers=headers)


def json_error_response(rendered: Rendered) -> JsonResponse:
    """The same answer for a plain Django view (the SSE stream) or a consumer's error frame."""
    body, status, headers = rendered
    return JsonResponse(body, status=status, headers=headers)
