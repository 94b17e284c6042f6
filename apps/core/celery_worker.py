"""What every Celery process of ours does besides running tasks: Django's logging, the heartbeat, clean log scopes.

Imported by ``config.celery_app`` so the receivers are connected before a worker starts.

- ``setup_logging``: with a receiver connected, Celery leaves logging alone, so ``settings.LOGGING`` applies
  (JSON lines with the log context in production); the worker's ``--loglevel`` still sets the root level.
- ``worker_ready``: a daemon thread writes the worker's heartbeat (``readiness.worker_heartbeat_write``)
  every ``WORKER_HEARTBEAT_SECONDS`` until ``worker_shutdown``, which removes it; ``/readyz`` reads them.
  A thread of its own, so a worker whose pool is busy with long turns still beats.
- ``task_prerun``: each task starts from an empty log scope (pool threads are reused).
"""

import logging
import logging.config
import threading

from celery import signals

from apps.core import log_context

logger = logging.getLogger(__name__)

_stop = threading.Event()
_beating: dict[str, str] = {}


@signals.setup_logging.connect
def _logging_from_django(loglevel=None, **kwargs) -> None:
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


@signals.worker_ready.connect
def _heartbeat_start(sender=None, **kwargs) -> None:
    from django.conf import settings

    from apps.core import readiness

    name = getattr(sender, "hostname", None) or "celery"
    _beating["name"] = name
    _stop.clear()

    def beat() -> None:
        while True:
            try:
                readiness.worker_heartbeat_write(worker=name)
            except Exception as error:  # Redis away: readiness will say so; keep trying
                logger.warning("Worker heartbeat not written: %s", error)
            if _stop.wait(settings.WORKER_HEARTBEAT_SECONDS):
                return

    threading.Thread(target=beat, name="dramatis-heartbeat", daemon=True).start()


@signals.worker_shutdown.connect
def _heartbeat_stop(**kwargs) -> None:
    from apps.core import readiness

    _stop.set()
    name = _beating.pop("name", None)
    if name:
        try:
            readiness.worker_heartbeat_remove(worker=name)
        except Exception as error:
            logger.warning("Worker heartbeat not removed: %s", error)


@signals.task_prerun.connect
def _log_scope_reset(**kwargs) -> None:
    log_context.clear()
