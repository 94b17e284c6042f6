import re
from pathlib import Path

from django.http import HttpResponse
from django.urls.resolvers import RoutePattern
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from apps.api.native.envelope import action, envelope

LLMS_TXT = Path(__file__).resolve().parent.parent / "llms.txt"


class OpenApiSchemaApi(SpectacularAPIView):
    """``GET /v1/openapi.json``: the public schema of the ``/v1`` surface."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [OpenApiJsonRenderer]


def llms_txt(request) -> HttpResponse:
    """``GET /v1/llms.txt``: a short integration guide for coding agents (and people)."""
    text = LLMS_TXT.read_text().replace("{base_url}", request.build_absolute_uri("/").rstrip("/"))
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


def _methods(callback) -> list[str]:
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is None:  # a plain Django view (llms.txt, the SSE stream): read-only
        return ["GET"]
    names = [name for name in view_class.http_method_names if name not in {"options", "head"}]
    return [name.upper() for name in names if hasattr(view_class, name)]


def _endpoint_groups(request) -> list[dict]:
    """The /v1 routes, read from the URLconf itself so the listing cannot drift, grouped by first path segment."""
    from apps.api.native.urls import urlpatterns  # here, not at the top: the URLconf imports this module

    groups: dict[str, list[dict]] = {}
    for pattern in urlpatterns:
        if not isinstance(pattern.pattern, RoutePattern) or not str(pattern.pattern):  # the catch-all, the root
            continue
        route = str(pattern.pattern)
        path = "/v1/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        endpoint = {
            "path": path,
            "methods": _methods(pattern.callback),
            "url": request.build_absolute_uri(path) if "{" not in path else None,
        }
        first = route.split("/", 1)[0]
        groups.setdefault("meta" if "." in first else first, []).append(endpoint)
    return [{"group": name, "endpoints": endpoints} for name, endpoints in groups.items()]


@extend_schema(exclude=True)
class ApiRootApi(APIView):
    """The Dramatis native API. Every endpoint takes `Authorization: Bearer <API key>`; sign in to the admin to
    try them here as your playground app. Paths with `{...}` take an id from an earlier answer."""

    permission_classes = [AllowAny]

    def get(self, request):
        data = {
            "endpoint_groups": _endpoint_groups(request),
            "openapi": request.build_absolute_uri("/v1/openapi.json"),
            "reference": request.build_absolute_uri("/reference/"),
            "docs": request.build_absolute_uri("/docs/"),
            "llms_txt": request.build_absolute_uri("/v1/llms.txt"),
        }
        return envelope(
            data,
            [
                action("POST /v1/demo/sandbox-key", "Get a sandbox API key (embedded mode)"),
                action('POST /v1/characters {"slug": "luna", "display_name": "Luna"}', "Create your first character"),
            ],
        )
