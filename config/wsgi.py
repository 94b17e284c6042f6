"""WSGI entry point: the REST API and the admin, without streams (SSE and WebSockets need ``config.asgi``).

Kept so the WSGI servers can be measured against the ASGI ones (``bench/servers.py``); the Procfile serves
``config.asgi``. Cookie-less requests under the API prefixes take ``settings.API_MIDDLEWARE``, as they do
under ASGI (see ``apps.core.handlers``), so the two entry points run the same work per request.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
site_wsgi_app = get_wsgi_application()

from django.conf import settings  # noqa: E402  (needs Django set up first)
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402


class ApiWSGIHandler(WSGIHandler):
    """Django's WSGI handler built from ``settings.API_MIDDLEWARE`` instead of ``settings.MIDDLEWARE``."""

    def load_middleware(self, is_async: bool = False) -> None:
        site_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.API_MIDDLEWARE
        try:
            super().load_middleware(is_async=is_async)
        finally:
            settings.MIDDLEWARE = site_middleware


API_PREFIXES = ("/v1/", "/emotion/v1/", "/hooks/")
api_wsgi_app = ApiWSGIHandler()


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith(API_PREFIXES) and "HTTP_COOKIE" not in environ:
        return api_wsgi_app(environ, start_response)
    return site_wsgi_app(environ, start_response)
