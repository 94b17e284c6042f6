"""The Celery application: settings come from Django's (``CELERY_`` prefix); tasks are discovered per app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("dramatis")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Logging from Django's settings, the workers' heartbeat and per-task log scopes (connected before a worker starts).
import apps.core.celery_worker  # noqa: E402, F401
