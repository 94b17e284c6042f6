"""Celery entry points of assets: thin wrappers that call services."""

from celery import shared_task

from apps.assets import services


@shared_task(ignore_result=True)
def direct_images_purge_task() -> int:
    """Beat: delete the files of direct pictures (the OpenAI door's URLs) once their links have expired."""
    return services.direct_images_purge()
