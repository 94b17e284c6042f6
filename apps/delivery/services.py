"""The delivery app's write door for other apps and surfaces: webhook services (``webhooks.services``), the
streams' one write (``realtime``) and the erasure of an end-user everywhere (``erasure``). Telegram keeps a door
of its own (``telegram.services``)."""

from apps.delivery.erasure import ExternalUserErased, external_user_erase
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
    "ExternalUserErased",
    "external_user_erase",
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
