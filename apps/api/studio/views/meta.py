"""``GET openapi.json``: the surface's OpenAPI document (public, like the other surfaces' schemas)."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from apps.api.studio.openapi import openapi_document


@require_GET
def openapi_json(request) -> JsonResponse:
    return JsonResponse(openapi_document())
