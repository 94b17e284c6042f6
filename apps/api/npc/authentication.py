"""Foil's key header: ``X-API-Key: <key>``, one of the app's API keys (the same keys as ``Authorization:
Bearer`` on the other surfaces)."""

from apps.api.npc.errors import KEY_HEADER
from apps.api.shared.authentication import XApiKeyAuthentication as SharedXApiKeyAuthentication


class XApiKeyAuthentication(SharedXApiKeyAuthentication):
    """The shared ``X-API-Key`` authentication, challenging with Foil's header name; a bad key is 401 here."""

    def authenticate_header(self, request) -> str:
        return KEY_HEADER
