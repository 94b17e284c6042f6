"""Celery entry points for Telegram delivery (registered by ``DeliveryConfig.ready``): thin wrappers that
take ids, call ``outbound``, and resubmit through the executor."""

from celery import shared_task

from apps.core import executor
from apps.delivery.telegram.services import outbound

# A drain asked to come back "now" still waits a moment, so a chat never spins on the executor.
_REDRAIN_MIN_SECONDS = 0.05


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=150)
def telegram_chat_drain_task(chat_id: int) -> None:
    """Send a chat's due events in order; resubmitted with the wait a 429 or a backoff asks for."""
    retry_in = outbound.telegram_chat_drain(chat_id=chat_id)
    if retry_in is not None:
        executor.submit(telegram_chat_drain_task, chat_id, countdown=max(retry_in, _REDRAIN_MIN_SECONDS))


@shared_task(ignore_result=True)
def telegram_deliveries_sweep_task() -> int:
    """Beat: drain chats whose rows are due or whose events were never scanned (lost kicks, dead senders)."""
    chat_ids = outbound.telegram_chats_due()
    executor.submit_many(telegram_chat_drain_task, [(chat_id,) for chat_id in chat_ids])
    return len(chat_ids)


@shared_task(ignore_result=True)
def telegram_updates_purge_task() -> int:
    """Beat, hourly: forget inbound update ids older than Telegram's redelivery window."""
    return outbound.telegram_updates_purge()
