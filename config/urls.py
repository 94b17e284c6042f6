"""The URL map: the front door and docs for people, the admin, and each API surface under its own mount."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("v1/", include("apps.api.native.urls")),
    path("emotion/v1/", include("apps.api.emotion.urls")),
    path("hooks/", include("apps.api.hooks.urls")),
    path("npc/", include("apps.api.npc.urls")),
    path("openai/v1/", include("apps.api.openai.urls")),
    path("api-auth/", include("rest_framework.urls")),
    path("", include("apps.api.home.urls")),
]

handler404 = "apps.api.native.errors.not_found_view"
handler500 = "apps.api.native.errors.server_error_view"
