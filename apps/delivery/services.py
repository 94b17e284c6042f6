"""The delivery app's write door for other apps and surfaces: webhook services (``webhooks.services``) and the
streams' one write (``realtime``). Telegram keeps a door of its own (``telegram.services``)."""

from apps.delivery.realtime import server_loop_remember
from apps.delivery.webhooks.services import (
    webhook_deliveries_record,
    webhook_deliveries_resend,
    webhook_deliveries_send,
    webhook_deliveries_sweep,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_disable,
    webhook_endpoint_enable,
    webhook_event_enqueue,
)

__all__ = [
    "server_loop_remember",
    "webhook_deliveries_record",
    "webhook_deliveries_resend",
    "webhook_deliveries_send",
    "webhook_deliveries_sweep",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_disable",
    "webhook_endpoint_enable",
    "webhook_event_enqueue",
]
