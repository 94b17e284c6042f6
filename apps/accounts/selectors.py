"""Reads for accounts: resolving a presented key to its app."""

import hashlib
import hmac
import threading
import time

from django.conf import settings

from apps.accounts import errors
from apps.accounts.models import ApiKey, App
from apps.core import clock

# Keys verified in this process in the last API_KEY_CACHE_SECONDS, by digest of the whole presented key.
# Every request authenticates, and the lookup is a query plus two model instances; this keeps it off the
# hot path. Revocation and expiry are re-checked on every hit against the cached row; a revocation made in
# another process takes effect here within the TTL, one made here at once (api_key_cache_forget).
_verified: dict[str, tuple[float, ApiKey]] = {}
_verified_lock = threading.Lock()
_VERIFIED_MAX = 10_000

KEY_SCHEME = "drm"


def secret_digest(secret: str) -> str:
    """SHA-256 is right for keys with 160+ random bits; a slow password hash would only cost latency."""
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_cache_forget(*, api_key_id: str) -> None:
    """Drop a key from this process's cache of verified keys (after it was revoked or changed here)."""
    with _verified_lock:
        for digest in [digest for digest, (_, key) in _verified.items() if key.pk == api_key_id]:
            del _verified[digest]


def _lookup(raw_key: str) -> ApiKey:
    parts = raw_key.split("_")
    if len(parts) != 3 or parts[0] != KEY_SCHEME:
        raise errors.ApiKeyInvalid("The API key is not valid.")
    prefix = f"{parts[0]}_{parts[1]}"
    key = ApiKey.objects.select_related("app").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.secret_hash, secret_digest(parts[2])):
        raise errors.ApiKeyInvalid("The API key is not valid.")
    return key


def api_key_authenticate(*, raw_key: str) -> ApiKey:
    """Return the live key (with its app loaded) for ``raw_key``.

    Raises ApiKeyInvalid for unknown or malformed keys, ApiKeyRevoked and ApiKeyExpired otherwise.
    Verified keys are cached in-process for ``API_KEY_CACHE_SECONDS`` (unknown keys never are).
    """
    ttl = settings.API_KEY_CACHE_SECONDS
    digest = secret_digest(raw_key)
    now = time.monotonic()
    cached = _verified.get(digest) if ttl > 0 else None
    if cached is not None and cached[0] > now:
        key = cached[1]
    else:
        key = _lookup(raw_key)
        if ttl > 0:
            with _verified_lock:
                if len(_verified) >= _VERIFIED_MAX:  # keep memory bounded: drop what has expired
                    for stale in [d for d, (until, _) in _verified.items() if until <= now]:
                        del _verified[stale]
                _verified[digest] = (now + ttl, key)
    if key.revoked_at is not None:
        raise errors.ApiKeyRevoked("The API key was revoked.")
    if key.expires_at is not None and key.expires_at <= clock.now():
        raise errors.ApiKeyExpired("The API key has expired.")
    return key


def app_get(*, app: App, app_id: str) -> App:
    """The caller's own app when ``app_id`` names it; any other id (another app's too) raises AppNotFound."""
    if app_id != app.pk:
        raise errors.AppNotFound(f"No app with id '{app_id}'.")
    return app
