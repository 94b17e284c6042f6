"""Webhook endpoints and their delivery rows.

A delivery row is generic: it carries the event id a receiver deduplicates on and a snapshot of the JSON
body to POST, so any producer can use it (native session events, the emotion surface's notifications).
Rows of native events are written in the same transaction as the events themselves (see ``sinks``), so
an event that committed always has its rows; sending is at-least-once on top of that.
"""

from django.db import models
from django.db.models import Q

from apps.core.models import TimestampedModel, prefixed_id_field
from apps.core.secrets import EncryptedTextField


class WebhookEndpoint(TimestampedModel):
    """A URL that receives signed POSTs.

    Three scopes: one session's events (``session`` set), every native session event of the app (neither
    ``session`` nor ``scope`` set), or a producer-defined scope such as an emotion session (``scope`` set),
    which receives only what that producer enqueues for it.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        DISABLED = "disabled"
        DELETED = "deleted"

    id = prefixed_id_field("whk")
    app = models.ForeignKey("accounts.App", on_delete=models.CASCADE, related_name="webhook_endpoints")
    session = models.ForeignKey(
        "conversations.Session", null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    scope = models.CharField(max_length=128, blank=True, help_text="A producer's own scope, e.g. 'persona:<id>'.")
    url = models.CharField(max_length=2048)
    secret = EncryptedTextField(help_text="Signing secret as registered, encrypted at rest (needed to sign).")
    event_types = models.JSONField(default=list, blank=True, help_text="Only these event types; empty = all.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    disabled_reason = models.CharField(max_length=64, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True, help_text="First failure of the current run.")
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The fan-out asks "which active endpoints take this session's events?" on every append.
            models.Index(fields=["session"], name="webhook_endpoint_session", condition=Q(status="active")),
            models.Index(fields=["app", "scope"], name="webhook_endpoint_app", condition=Q(status="active")),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.url}"

    def accepts(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookDelivery(models.Model):
    """One event for one endpoint: pending until a 2xx, retried on a schedule, at most one row per pair.

    A sender claims a due row by pushing ``next_attempt_at`` a lease ahead and bumping ``attempts`` in one
    conditional UPDATE; ``attempts`` is then the fencing token for recording the outcome. A sender that
    dies mid-request leaves the row to come due again when the lease runs out (a re-delivery with the
    same ``webhook-id``, never a loss).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"
        CANCELLED = "cancelled"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=128)
    event_type = models.CharField(max_length=64, blank=True)
    body = models.JSONField(help_text="The JSON body POSTed, snapshotted when the row was written.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_endpoint_event_unique")
        ]
        indexes = [
            # The sweep reads only rows still to send, oldest due first.
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due", condition=Q(status="pending")),
            models.Index(fields=["event_id"], name="webhook_delivery_event"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.endpoint_id} ({self.status})"
