"""Request plumbing shared by every surface."""

import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from apps.core import log_context, metrics

PayloadTooLargeRenderer = Callable[..., HttpResponse]


class BodyLimits:
    """How big a body each path may send, and the surface-shaped 413 for one that is bigger.

    ``REQUEST_MAX_BYTES`` everywhere but the upload routes (``UPLOAD_PATH_PATTERNS``, regular expressions on the
    path), which take up to ``UPLOAD_REQUEST_MAX_BYTES``: a picture is bigger than any JSON body. Each surface
    answers in its own error shape: ``PAYLOAD_TOO_LARGE_RENDERERS`` maps a path prefix to a dotted
    ``(request, *, length, limit) -> response`` callable; the longest matching prefix wins (core cannot import
    the surfaces, so it names them).
    """

    def __init__(self) -> None:
        self.renderers: list[tuple[str, PayloadTooLargeRenderer]] = sorted(
            ((prefix, import_string(path)) for prefix, path in settings.PAYLOAD_TOO_LARGE_RENDERERS.items()),
            key=lambda item: len(item[0]),
            reverse=True,
        )
        self.upload_paths = re.compile(
            "|".join(f"(?:{pattern})" for pattern in settings.UPLOAD_PATH_PATTERNS) or "(?!)"
        )

    def limit_for(self, path: str) -> int:
        if self.upload_paths.match(path):
            return max(settings.UPLOAD_REQUEST_MAX_BYTES, settings.REQUEST_MAX_BYTES)
        return settings.REQUEST_MAX_BYTES

    def refusal(self, request: HttpRequest | None, *, path: str, length: int, limit: int) -> HttpResponse:
        render = next(render for prefix, render in self.renderers if path.startswith(prefix))
        return render(request, length=length, limit=limit)


class RequestSizeLimitMiddleware:
    """Refuse bodies over their path's limit (``BodyLimits``) with 413 before anything reads them.

    The declared Content-Length is checked here; under ASGI the handlers (``apps.core.handlers``) refuse it even
    earlier, before the body is received, and also cut off a chunked body without a length once it passes the
    limit. Django's own ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (set to the same limit) is the last net. Upload routes'
    files are streamed to disk by Django's upload handlers, and ``DATA_UPLOAD_MAX_MEMORY_SIZE`` still bounds
    their other fields.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.limits = BodyLimits()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.REQUEST_MAX_BYTES:
            limit = self.limits.limit_for(request.path)
            if length > limit:
                return self.limits.refusal(request, path=request.path, length=length, limit=limit)
        return self.get_response(request)


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestObservationMiddleware:
    """Time each request into ``dramatis_http_request_duration_seconds`` and give its log lines a scope.

    The route label is the URL pattern that answered (``v1/sessions/<str:session_id>/messages``), never the
    path, so the series stay bounded however many ids clients send; a request no pattern matched is
    ``unmatched``. The log scope's ``request_id`` is the caller's ``X-Request-ID`` when it looks like one (a
    proxy's), else a new one; it is echoed on the response. Sync-only, like the rest of the chain (see
    ``MIDDLEWARE``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        with log_context.scope(request_id=request_id):
            response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.route or match.view_name or "unnamed") if match is not None else "unmatched"
        metrics.request_observe(
            route=route, method=request.method or "", status=response.status_code, seconds=time.perf_counter() - started
        )
        response.headers.setdefault("X-Request-ID", request_id)
        return response
