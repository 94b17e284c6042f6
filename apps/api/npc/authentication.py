"""Foil's key header: ``X-API-Key: <key>``, one of the app's API keys (the same keys as ``Authorization:
Bearer`` on the other surfaces)."""

from rest_framework.authentication import BaseAuthentication

from apps.api.npc.errors import KEY_HEADER
from apps.api.shared.authentication import api_key_use


class XApiKeyAuthentication(BaseAuthentication):
    """Sets ``request.user`` to the key's App and ``request.auth`` to the ApiKey; no header authenticates
    nobody (the permission then answers 401), a bad key raises at once (401 on this surface)."""

    def authenticate(self, request):
        raw = request.META.get("HTTP_X_API_KEY", "").strip()
        if not raw:
            return None
        key = api_key_use(raw)
        return key.app, key

    def authenticate_header(self, request) -> str:
        return KEY_HEADER
