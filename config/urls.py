"""The URL map: the front door, docs and playground for people, the admin, and each API surface under its own mount."""

from django.contrib import admin
from django.urls import include, path, re_path

from apps.api.studio.errors import not_found_view as studio_not_found

urlpatterns = [
    path("", include("apps.api.ops.urls")),  # /healthz, /readyz, /metrics
    path("admin/", admin.site.urls),
    path("v1/", include("apps.api.native.urls")),
    path("emotion/v1/", include("apps.api.emotion.urls")),
    path("hooks/", include("apps.api.hooks.urls")),
    path("npc/", include("apps.api.npc.urls")),
    path("studio/api/v1/", include("apps.api.studio.urls")),
    # Anything else under /studio (another version, a missing segment) is a 404 in the studio's shape too.
    re_path(r"^studio/", studio_not_found),
    path("openai/v1/", include("apps.api.openai.urls")),
    path("api-auth/", include("rest_framework.urls")),
    path("playground/", include("apps.api.playground.urls")),
    path("", include("apps.api.home.urls")),
]

handler404 = "apps.api.native.errors.not_found_view"
handler500 = "apps.api.native.errors.server_error_view"
