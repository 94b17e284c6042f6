from pathlib import Path

from django.http import HttpResponse
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny

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
