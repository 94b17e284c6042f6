"""Writes and workflows of webhooks: registering endpoints, writing, sending and retrying deliveries."""

from apps.delivery.webhooks.services.deliveries import (
    webhook_deliveries_record,
    webhook_deliveries_send,
    webhook_deliveries_sweep,
    webhook_event_enqueue,
)
from apps.delivery.webhooks.services.endpoints import webhook_endpoint_create, webhook_endpoint_delete

__all__ = [
    "webhook_deliveries_record",
    "webhook_deliveries_send",
    "webhook_deliveries_sweep",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_event_enqueue",
]
