"""Serving the bearer-key API with its own middleware stack.

The admin and the browsable API need sessions, CSRF, auth and messages middleware; requests that carry
an API key and no cookie need none of it. Running those four middlewares (and the per-middleware
adaptation Django does under ASGI) cost about an eighth of a message send's time under daphne, so
cookie-less requests under the API prefixes go to a second Django handler built from
``settings.API_MIDDLEWARE``. Same URLs, views and settings otherwise; a request with a cookie (a staff
member using the browsable API) takes the full site stack.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import close_old_connections
from django.http import FileResponse
from django.http.response import HttpResponseBase
from django.urls import set_script_prefix

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
            return await self._handle_body(scope, bounded_receive, send)
        except _BodyTooLarge as error:
            return await self._refuse(path, send, length=error.received, limit=limit)

    async def _handle_body(self, scope, receive, send) -> None:
        await super().handle(scope, receive, send)

    async def _refuse(self, path: str, send, *, length: int, limit: int) -> None:
        response = self.body_limits.refusal(None, path=path, length=length, limit=limit)
        response["Connection"] = "close"  # the rest of the body is never read
        response["Content-Length"] = str(len(response.content))  # a whole answer, not chunks, before the close
        await self.send_response(response, send)


class ApiASGIHandler(BoundedBodyASGIHandler):
    """Django's ASGI handler with ``settings.API_MIDDLEWARE`` instead of ``settings.MIDDLEWARE``, serving each
    request in one hop to a thread.

    Django's own handler crosses from the event loop to a thread three times per request (the
    ``request_started`` receivers, the middleware chain with the view, then ``response.close()`` and its
    ``request_finished`` receivers), each time on a thread it starts for that request and joins at its end.
    Here the three run back to back in one call on a kept pool of ``API_THREADS`` threads; the event loop only
    receives the body and sends the answer. A plain response is closed before its bytes go out (its content is
    already rendered), so the thread's database connection is back in the pool by then. A streaming response
    (SSE) is sent the way Django sends it, watching for the client going away, and its body runs on the
    request's own thread as before; the connection the view itself used is handed back when the view returns.
    """

    def __init__(self) -> None:
        super().__init__()
        self.threads = ThreadPoolExecutor(max_workers=settings.API_THREADS, thread_name_prefix="api")
        self._serve = sync_to_async(self._respond, thread_sensitive=False, executor=self.threads)

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler reads settings.MIDDLEWARE; swap it only while this handler is built (once, at start-up).
        site_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.API_MIDDLEWARE
        try:
            # A synchronous chain, entered once per request from ``_respond``.
            super().load_middleware(is_async=False)
        finally:
            settings.MIDDLEWARE = site_middleware

    async def _handle_body(self, scope, receive, send) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        with closing(body_file):
            set_script_prefix(get_script_prefix(scope))
            response = await self._serve(scope, body_file)
            if not response.streaming:
                await self.send_response(response, send)
                return
            await self._stream(response, receive, send)

    def _respond(self, scope, body_file) -> HttpResponseBase:
        """Everything of a request that is not I/O on the socket, on one thread."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        if response.streaming:
            close_old_connections()  # the view's; the body's own hops to the request's thread close theirs
        else:
            response.close()  # request_finished: this thread's database connection goes back to the pool
        return response

    async def _stream(self, response: HttpResponseBase, receive, send) -> None:
        """Send a streaming response as Django does: stop when the client disconnects, then close it."""

        class Sent(Exception):
            pass

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.listen_for_disconnect(receive))
                await self.send_response(response, send)
                raise Sent
        except* (Sent, RequestAborted):
            pass
        await sync_to_async(response.close)()


class ApiOrSiteRouter:
    """ASGI app: cookie-less HTTP requests under ``prefixes`` go to ``api``, everything else to ``site``."""

    def __init__(self, *, api, site, prefixes: tuple[str, ...]) -> None:
        self.api, self.site, self.prefixes = api, site, prefixes

    async def __call__(self, scope, receive, send):
        if scope["path"].startswith(self.prefixes) and not any(name == b"cookie" for name, _ in scope["headers"]):
            return await self.api(scope, receive, send)
        return await self.site(scope, receive, send)
