"""Celery entry points: thin wrappers that take ids, call services, and resubmit through the executor."""

from celery import shared_task

from apps.conversations import services
from apps.core import executor


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=300, time_limit=330)
def run_execute_task(run_id: str, resume_attempt: int | None = None, interruptions: int = 0) -> None:
    """Execute one attempt of a run; resubmitted with the backoff a transient model error or a database outage
    asks for (an outage's retry carries the attempt it cut off, and how many outages it has met)."""
    outcome = services.run_execute(run_id=run_id, resume_attempt=resume_attempt, interruptions=interruptions)
    if outcome.retry_in is not None:
        interrupted = outcome.status == "interrupted"
        executor.submit(
            run_execute_task,
            run_id,
            outcome.resume_attempt,
            interruptions + 1 if interrupted else 0,
            countdown=outcome.retry_in,
        )


@shared_task(queue="images", acks_late=True, ignore_result=True, soft_time_limit=300, time_limit=330)
def selfie_draw_task(image_id: str, attempt: int = 1) -> None:
    """Draw one generated image (a selfie or a probe) and announce it on its session; on the ``images`` queue,
    so slow drawings never hold up turns. Resubmitted with backoff when the backend failed transiently."""
    outcome = services.image_job_execute(image_id=image_id, attempt=attempt)
    if outcome.retry_in is not None:
        executor.submit(selfie_draw_task, image_id, attempt + 1, countdown=outcome.retry_in)


@shared_task(ignore_result=True)
def images_recover_task() -> int:
    """Beat: hand off again the drawings of images left pending (their job was lost)."""
    image_ids = services.images_recover()
    executor.submit_many(selfie_draw_task, [(image_id, 2) for image_id in image_ids])
    return len(image_ids)


@shared_task(ignore_result=True)
def runs_recover_task() -> int:
    """Beat: hand off again the runs whose worker died or whose hand-off was lost."""
    run_ids = services.runs_recover()
    executor.submit_many(run_execute_task, [(run_id,) for run_id in run_ids])
    return len(run_ids)


@shared_task(ignore_result=True)
def idempotency_records_purge_task() -> int:
    """Beat, hourly: forget Idempotency-Key records past their retention."""
    return services.idempotency_records_purge()


@shared_task(ignore_result=True)
def proactive_scan_task() -> int:
    """Beat: claim the sessions whose proactive message is due and queue their initiate turns."""
    return len(services.proactive_scan().run_ids)


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=300, time_limit=330)
def memory_summarise_task(session_id: str, final: bool = False) -> None:
    """Fold a session's older messages into its memory; queued by a turn, never in a reply's path. A backlog
    longer than one fold queues the next one."""
    outcome = services.memory_summarise(session_id=session_id, final=final)
    if outcome.more:
        executor.submit(memory_summarise_task, session_id, final)
