"""ASGI entry point: HTTP (REST API, admin, SSE) through Django, WebSockets through Channels.

Cookie-less requests to the APIs take a slimmer middleware stack (see ``apps.core.handlers``).
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)  # what django.core.asgi.get_asgi_application does before building its handler

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from apps.api.emotion.consumers import EmotionSocket  # noqa: E402
from apps.core.handlers import ApiASGIHandler, ApiOrSiteRouter, BoundedBodyASGIHandler  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": ApiOrSiteRouter(
            api=ApiASGIHandler(),
            site=BoundedBodyASGIHandler(),
            # Probes and scrapes too: they never carry a cookie and need no session or CSRF.
            prefixes=("/v1/", "/emotion/v1/", "/hooks/", "/studio/", "/openai/", "/healthz", "/readyz", "/metrics"),
        ),
        # The auth stack reads the admin's session cookie, so a signed-in superuser can open the socket too.
        "websocket": AuthMiddlewareStack(URLRouter([path("emotion/v1/ws/<str:session_id>", EmotionSocket.as_asgi())])),
    }
)
