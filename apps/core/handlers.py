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


class ApiASGIHandler(ASGIHandler):
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
