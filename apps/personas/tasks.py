"""Celery entry points of personas: thin wrappers that call services."""

from celery import shared_task

from apps.personas import services


@shared_task(ignore_result=True)
def persona_proactive_sweep_task() -> int:
    """Beat: evaluate the proactive triggers of emotion sessions that are due."""
    return services.persona_proactive_sweep()
