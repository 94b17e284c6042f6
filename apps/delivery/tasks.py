"""Celery entry points: thin wrappers that take ids and call services."""

from celery import shared_task

from apps.delivery import services


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=150)
def webhook_deliveries_send_task(delivery_ids: list[int]) -> int:
    """Send the due rows among ``delivery_ids`` (one attempt each)."""
    return services.webhook_deliveries_send(delivery_ids=delivery_ids)


@shared_task(ignore_result=True)
def webhook_deliveries_sweep_task() -> int:
    """Beat: hand due retries, and rows whose fast-path hand-off was lost, to senders."""
    return len(services.webhook_deliveries_sweep())
