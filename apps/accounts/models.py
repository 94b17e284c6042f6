"""Tenants and their credentials."""

from django.db import models

from apps.core.models import TimestampedModel, prefixed_id_field


class App(TimestampedModel):
    """A tenant. Everything an integrator creates belongs to exactly one app.

    The ``max_*`` caps are null for unlimited; the ``*_used`` counters are only ever changed by
    ``services.app_quota_consume`` with a conditional UPDATE, so caps hold under concurrency.
    """

    id = prefixed_id_field("app")
    name = models.CharField(max_length=120)
    is_sandbox = models.BooleanField(default=False)
    max_characters = models.PositiveIntegerField(null=True, blank=True)
    max_sessions = models.PositiveIntegerField(null=True, blank=True)
    max_user_messages = models.PositiveIntegerField(null=True, blank=True)
    max_message_chars = models.PositiveIntegerField(null=True, blank=True)
    characters_used = models.PositiveIntegerField(default=0)
    sessions_used = models.PositiveIntegerField(default=0)
    user_messages_used = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class ApiKey(TimestampedModel):
    """A bearer key for one app. Only ``prefix`` and a SHA-256 of the secret are stored; the key is shown once."""

    id = prefixed_id_field("key")
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=120, blank=True)
    prefix = models.CharField(max_length=24, unique=True)
    secret_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.app_id})"
