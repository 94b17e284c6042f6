"""Celery entry points of personas: thin wrappers that call services."""

from celery import shared_task

from apps.personas import services


@shared_task(ignore_result=True)
def persona_proactive_sweep_task() -> int:
    """Beat: evaluate the proactive triggers of emotion sessions that are due."""
    return services.persona_proactive_sweep()


@shared_task(ignore_result=True)
def personas_deleted_purge_task() -> int:
    """Beat: remove the persona API's deleted personas once their retention has ended."""
    return services.personas_deleted_purge()
