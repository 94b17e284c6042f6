"""Small secrets at rest (bot tokens, webhook secrets), encrypted with Fernet (AES-128-CBC + HMAC-SHA256).

The keys come from ``settings.FIELD_ENCRYPTION_KEY``: one Fernet key (urlsafe base64 of 32 bytes) or
several, comma-separated. The first encrypts and every one decrypts, so a key is rotated by putting the new
key first, keeping the old one until ``manage.py secrets_reencrypt`` wrote the stored values again. With no
key configured the key is derived from ``SECRET_KEY`` (HKDF-SHA256), so the embedded default needs no
setup; production should set its own, because rotating ``SECRET_KEY`` would otherwise make the stored
secrets unreadable.

Use ``EncryptedTextField`` on a model, or ``secret_encrypt``/``secret_decrypt`` directly.
"""

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

_DERIVATION_INFO = b"dramatis field encryption v1"


class SecretUnreadable(Exception):
    """A stored value could not be decrypted with any configured key (wrong key, or the value was altered)."""


def key_derive(secret_key: str) -> bytes:
    """The Fernet key derived from Django's ``SECRET_KEY`` (used when FIELD_ENCRYPTION_KEY is empty)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DERIVATION_INFO).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived)


@cache
def _cipher(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        return MultiFernet([Fernet(key_derive(secret_key))])
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be Fernet keys (urlsafe base64 of 32 bytes); "
            "make one with `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
        ) from error


def cipher() -> MultiFernet:
    return _cipher(tuple(settings.FIELD_ENCRYPTION_KEY), settings.SECRET_KEY)


def secret_encrypt(plaintext: str) -> str:
    """Encrypt ``plaintext`` with the first key; the result is ASCII and differs on every call."""
    return cipher().encrypt(plaintext.encode()).decode("ascii")


def secret_decrypt(token: str) -> str:
    """Decrypt a value made by ``secret_encrypt`` with any configured key; raises SecretUnreadable."""
    try:
        return cipher().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as error:
        raise SecretUnreadable("The stored secret cannot be decrypted with the configured keys.") from error


def secret_reencrypt(token: str) -> str:
    """The same secret encrypted with the current first key (for key rotation)."""
    try:
        return cipher().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as error:
        raise SecretUnreadable("The stored secret cannot be decrypted with the configured keys.") from error


def secret_hint(secret: str, *, visible: int = 4) -> str:
    """A masked hint for showing which secret is stored without revealing it: ``…wxyz``."""
    return "…" + secret[-visible:] if len(secret) > visible * 3 else "…"


class EncryptedTextField(models.TextField):
    """A text column holding ``secret_encrypt(value)``; Python code only ever sees the plaintext.

    The ciphertext is random per write, so the column cannot be filtered or indexed by value.
    """

    def from_db_value(self, value, expression, connection):
        return None if value is None else secret_decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return None if value is None else secret_encrypt(value)
