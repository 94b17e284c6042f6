"""Request plumbing shared by every surface."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


class RequestSizeLimitMiddleware:
    """Refuse bodies over ``REQUEST_MAX_BYTES`` with 413 before anything reads them.

    The declared Content-Length is checked here; Django's own ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (set to the
    same limit) catches bodies that lie about their length. The error uses the native envelope because
    only the native surface exists so far; other surfaces will register their own shape.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.REQUEST_MAX_BYTES:
            return JsonResponse(
                {
                    "detail": {
                        "code": "payload_too_large",
                        "message": f"The request body is {length} bytes; the limit is {settings.REQUEST_MAX_BYTES}.",
                        "fix": "Send a smaller request body.",
                    }
                },
                status=413,
            )
        return self.get_response(request)
