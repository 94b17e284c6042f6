"""Serving the bearer-key API with its own middleware stack.

The admin and the browsable API need sessions, CSRF, auth and messages middleware; requests that carry
an API key and no cookie need none of it. Running those four middlewares (and the per-middleware
adaptation Django does under ASGI) cost about an eighth of a message send's time under daphne, so
cookie-less requests under the API prefixes go to a second Django handler built from
``settings.API_MIDDLEWARE``. Same URLs, views and settings otherwise; a request with a cookie (a staff
member using the browsable API) takes the full site stack.
"""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler

from apps.core.middleware import BodyLimits


class _BodyTooLarge(Exception):
    def __init__(self, received: int) -> None:
        self.received = received


class BoundedBodyASGIHandler(ASGIHandler):
    """Django's ASGI handler, refusing a body over its path's limit (``BodyLimits``) before receiving it.

    Django's handler receives the whole body (into a temporary file, spilling to disk) before any middleware
    runs, so ``RequestSizeLimitMiddleware`` alone would only answer after a 3 MB body, or an endless chunked
    one, had been taken in. Here a declared Content-Length over the limit is answered at once, unread, and a
    body without one (chunked) is cut off as soon as it passes the limit. Same 413, in the surface's shape.
    """

    def __init__(self) -> None:
        super().__init__()
        self.body_limits = BodyLimits()

    async def handle(self, scope, receive, send):
        path = scope.get("path", "")
        limit = self.body_limits.limit_for(path)
        declared = next((value for name, value in scope.get("headers", []) if name == b"content-length"), None)
        try:
            length = int(declared) if declared is not None else 0
        except ValueError:
            length = 0
        if length > limit:
            return await self._refuse(path, send, length=length, limit=limit)
        received = 0

        async def bounded_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(received)
            return message

        try:
            return await super().handle(scope, bounded_receive, send)
        except _BodyTooLarge as error:
            return await self._refuse(path, send, length=error.received, limit=limit)

    async def _refuse(self, path: str, send, *, length: int, limit: int) -> None:
        response = self.body_limits.refusal(None, path=path, length=length, limit=limit)
        response["Connection"] = "close"  # the rest of the body is never read
        response["Content-Length"] = str(len(response.content))  # a whole answer, not chunks, before the close
        await self.send_response(response, send)


class ApiASGIHandler(BoundedBodyASGIHandler):
    """Django's ASGI handler with ``settings.API_MIDDLEWARE`` instead of ``settings.MIDDLEWARE``."""

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler reads settings.MIDDLEWARE; swap it only while this handler is built (once, at start-up).
        site_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.API_MIDDLEWARE
        try:
            # Built synchronously and entered with one hop: middleware, view and response rendering all run
            # on the request's thread, instead of loop -> thread -> loop -> thread around the view.
            super().load_middleware(is_async=False)
        finally:
            settings.MIDDLEWARE = site_middleware
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)


class ApiOrSiteRouter:
    """ASGI app: cookie-less HTTP requests under ``prefixes`` go to ``api``, everything else to ``site``."""

    def __init__(self, *, api, site, prefixes: tuple[str, ...]) -> None:
        self.api, self.site, self.prefixes = api, site, prefixes

    async def __call__(self, scope, receive, send):
        if scope["path"].startswith(self.prefixes) and not any(name == b"cookie" for name, _ in scope["headers"]):
            return await self.api(scope, receive, send)
        return await self.site(scope, receive, send)
