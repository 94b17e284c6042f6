"""Writes and workflows of webhooks: registering endpoints, writing, sending and retrying deliveries."""

from apps.delivery.webhooks.services.deliveries import (
    webhook_deliveries_record,
    webhook_deliveries_resend,
    webhook_deliveries_send,
    webhook_deliveries_sweep,
    webhook_event_enqueue,
)
from apps.delivery.webhooks.services.endpoints import (
    scope_webhook_endpoints_delete,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_disable,
    webhook_endpoint_enable,
    webhook_rows_erase,
)

__all__ = [
    "webhook_deliveries_record",
    "webhook_deliveries_resend",
    "webhook_deliveries_send",
    "webhook_deliveries_sweep",
    "scope_webhook_endpoints_delete",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_disable",
    "webhook_endpoint_enable",
    "webhook_event_enqueue",
    "webhook_rows_erase",
]
