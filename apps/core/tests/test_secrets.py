"""Secrets at rest: Fernet encryption, keys from settings or derived from SECRET_KEY, rotation, the model field."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, models

from apps.core import secrets
from apps.core.secrets import EncryptedTextField, SecretUnreadable, secret_decrypt, secret_encrypt

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_round_trip_is_random_per_call_and_hides_the_plaintext():
    first, second = secret_encrypt(TOKEN), secret_encrypt(TOKEN)
    assert first != second  # a fresh IV each time: equal secrets do not look equal at rest
    assert TOKEN not in first and "AAHdqTcv" not in first
    assert secret_decrypt(first) == secret_decrypt(second) == TOKEN


def test_without_a_configured_key_the_key_is_derived_from_secret_key(settings):
    settings.FIELD_ENCRYPTION_KEY = []
    stored = secret_encrypt(TOKEN)
    assert Fernet(secrets.key_derive(settings.SECRET_KEY)).decrypt(stored.encode()).decode() == TOKEN
    settings.SECRET_KEY = "another-secret-key"
    with pytest.raises(SecretUnreadable):
        secret_decrypt(stored)


def test_a_configured_key_is_used_and_rotation_keeps_old_values_readable(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = [old]
    stored_with_old = secret_encrypt(TOKEN)
    assert Fernet(old.encode()).decrypt(stored_with_old.encode()).decode() == TOKEN

    settings.FIELD_ENCRYPTION_KEY = [new, old]
    assert secret_decrypt(stored_with_old) == TOKEN
    rotated = secrets.secret_reencrypt(stored_with_old)
    assert Fernet(new.encode()).decrypt(rotated.encode()).decode() == TOKEN

    settings.FIELD_ENCRYPTION_KEY = [new]
    assert secret_decrypt(rotated) == TOKEN
    with pytest.raises(SecretUnreadable):
        secret_decrypt(stored_with_old)


def test_tampered_or_foreign_values_are_refused(settings):
    stored = secret_encrypt(TOKEN)
    with pytest.raises(SecretUnreadable):
        secret_decrypt(stored[:-4] + ("AAAA" if not stored.endswith("AAAA") else "BBBB"))
    with pytest.raises(SecretUnreadable):
        secret_decrypt("not a fernet token")


def test_a_malformed_key_setting_is_a_configuration_error(settings):
    settings.FIELD_ENCRYPTION_KEY = ["too-short"]
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEY"):
        secret_encrypt(TOKEN)


def test_hint_shows_only_the_last_characters():
    assert secrets.secret_hint(TOKEN) == "…Dsaw"
    assert secrets.secret_hint("short") == "…"


class SecretVault(models.Model):
    """A test-only model; core has no migrations, so the test database gets its table from syncdb."""

    secret = EncryptedTextField(null=True)

    class Meta:
        app_label = "core"

    def __str__(self) -> str:
        return str(self.pk)


def test_the_model_field_stores_ciphertext_and_reads_plaintext(db):
    row = SecretVault.objects.create(secret=TOKEN)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT secret FROM {SecretVault._meta.db_table} WHERE id = %s", [row.pk])
        (raw,) = cursor.fetchone()
    assert TOKEN not in raw and secret_decrypt(raw) == TOKEN
    assert SecretVault.objects.get(pk=row.pk).secret == TOKEN
    empty = SecretVault.objects.create(secret=None)
    assert SecretVault.objects.get(pk=empty.pk).secret is None


def test_the_reencrypt_command_moves_stored_values_to_the_first_key(db, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = [old]
    row = SecretVault.objects.create(secret=TOKEN)
    settings.FIELD_ENCRYPTION_KEY = [new, old]
    call_command("secrets_reencrypt", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEY = [new]
    assert SecretVault.objects.get(pk=row.pk).secret == TOKEN
