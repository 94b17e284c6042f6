"""Webhook secrets and the two signatures every POST carries.

- ``x-auto-dating-signature: sha256=<hex HMAC-SHA256(secret, body)>``, keyed with the secret's UTF-8
  bytes exactly as registered (the LoreOS convention);
- Standard Webhooks: ``webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``. The key
  is the decoded bytes when the secret is itself a Standard Webhooks secret (``whsec_`` + base64, as we
  generate them), otherwise the secret's UTF-8 bytes. So ``standardwebhooks.Webhook(secret)`` verifies
  a ``whsec_`` secret and ``Webhook(secret.encode())`` any other one.
"""

import base64
import binascii
import hashlib
import hmac
import re
import secrets

from apps.delivery.webhooks.errors import WebhookSecretInvalid

SECRET_PREFIX = "whsec_"
SECRET_MIN_CHARS = 16
SECRET_MAX_CHARS = 512
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _whsec_key(secret: str) -> bytes | None:
    """The key of a ``whsec_`` secret, None when ``secret`` is not one; raises for a malformed one."""
    if not secret.startswith(SECRET_PREFIX):
        return None
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not 24 <= len(key) <= 64:
        raise WebhookSecretInvalid({"secret": ["A 'whsec_' secret must be base64 of 24-64 bytes."]})
    return key


def secret_validate(secret: str) -> str:
    if not isinstance(secret, str) or not SECRET_MIN_CHARS <= len(secret) <= SECRET_MAX_CHARS:
        raise WebhookSecretInvalid({"secret": [f"A secret has {SECRET_MIN_CHARS}-{SECRET_MAX_CHARS} characters."]})
    if not _PRINTABLE.match(secret):
        raise WebhookSecretInvalid({"secret": ["A secret has printable ASCII characters only, without spaces."]})
    _whsec_key(secret)
    return secret


def standard_key(secret: str) -> bytes:
    return _whsec_key(secret) or secret.encode()


def signature_headers(*, secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The signing headers of one attempt (the Standard Webhooks timestamp is the attempt's)."""
    legacy = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    signed = f"{message_id}.{timestamp}.".encode() + body
    standard = base64.b64encode(hmac.new(standard_key(secret), signed, hashlib.sha256).digest()).decode()
    return {
        "x-auto-dating-signature": f"sha256={legacy}",
        "x-auto-dating-event-id": message_id,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{standard}",
    }
