"""Celery entry points: thin wrappers that take ids and call services."""

from celery import shared_task

from apps.conversations import dispatch


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=300, time_limit=330)
def run_execute_task(run_id: str) -> None:
    """Execute one attempt of a run; re-dispatched with backoff on transient model errors."""
    dispatch.run_execute_and_reschedule(run_id)


@shared_task(ignore_result=True)
def runs_recover_task() -> int:
    """Beat: dispatch runs whose worker died or whose dispatch was lost."""
    return len(dispatch.recover_and_dispatch())


@shared_task(ignore_result=True)
def idempotency_records_purge_task() -> int:
    """Beat, hourly: forget Idempotency-Key records past their retention."""
    from apps.conversations import services

    return services.idempotency_records_purge()


@shared_task(ignore_result=True)
def proactive_scan_task() -> int:
    """Beat: claim the sessions whose proactive message is due and queue their initiate turns."""
    from apps.conversations import services

    return len(services.proactive_scan().run_ids)
