"""Celery entry points for Telegram delivery (registered by ``DeliveryConfig.ready``)."""

from celery import shared_task

from apps.delivery.telegram import dispatch


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=150)
def telegram_chat_drain_task(chat_id: int) -> None:
    """Send a chat's due events in order; re-dispatched with the wait a 429 or a backoff asks for."""
    dispatch.drain_and_reschedule(chat_id)


@shared_task(ignore_result=True)
def telegram_deliveries_sweep_task() -> int:
    """Beat: drain chats whose rows are due or whose events were never scanned (lost kicks, dead senders)."""
    return len(dispatch.telegram_sweep())


@shared_task(ignore_result=True)
def telegram_updates_purge_task() -> int:
    """Beat, hourly: forget inbound update ids older than Telegram's redelivery window."""
    from apps.delivery.telegram.services import outbound

    return outbound.telegram_updates_purge()
