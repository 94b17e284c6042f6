"""Reads for accounts: resolving a presented key to its app."""

import hashlib
import hmac

from apps.accounts import errors
from apps.accounts.models import ApiKey
from apps.core import clock

KEY_SCHEME = "drm"


def secret_digest(secret: str) -> str:
    """SHA-256 is right for keys with 160+ random bits; a slow password hash would only cost latency."""
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_authenticate(*, raw_key: str) -> ApiKey:
    """Return the live key (with its app loaded) for ``raw_key``.

    Raises ApiKeyInvalid for unknown or malformed keys, ApiKeyRevoked and ApiKeyExpired otherwise.
    """
    parts = raw_key.split("_")
    if len(parts) != 3 or parts[0] != KEY_SCHEME:
        raise errors.ApiKeyInvalid("The API key is not valid.")
    prefix = f"{parts[0]}_{parts[1]}"
    key = ApiKey.objects.select_related("app").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.secret_hash, secret_digest(parts[2])):
        raise errors.ApiKeyInvalid("The API key is not valid.")
    if key.revoked_at is not None:
        raise errors.ApiKeyRevoked("The API key was revoked.")
    if key.expires_at is not None and key.expires_at <= clock.now():
        raise errors.ApiKeyExpired("The API key has expired.")
    return key
