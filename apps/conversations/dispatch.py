"""How an accepted run reaches a worker, chosen by ``settings.RUN_EXECUTOR``.

- ``celery`` (production): a task on the broker; any worker process runs it.
- ``inprocess`` (embedded default): a small thread pool inside the web process, plus a scheduler thread
  that sweeps for abandoned runs, so one command runs the whole system.
- ``inline``: run at once in the caller's thread (tests, debugging).

Every executor calls the same ``services.run_execute`` and re-dispatches with the backoff it returns.
"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections
from kombu.exceptions import OperationalError as BrokerUnavailable

logger = logging.getLogger(__name__)

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_scheduler_started = threading.Event()


# Publishing waits at most ~0.6 s for an unreachable broker: the run is already durable in the database.
_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.25, "interval_max": 0.5}


def run_dispatch(*, run_id: str, countdown: float = 0.0) -> None:
    """Hand ``run_id`` to the configured executor, to start after ``countdown`` seconds.

    Never raises for an unreachable broker: the run stays queued in the database and the recovery sweep
    dispatches it once the broker is back, so an accepted message is answered late rather than lost.
    """
    if settings.RUN_EXECUTOR == "celery":
        from apps.conversations import tasks  # tasks imports this module for re-dispatch

        try:
            tasks.run_execute_task.apply_async(
                args=[run_id],
                countdown=countdown or None,
                retry=True,
                retry_policy=_PUBLISH_RETRY,
                # Given, so Celery skips building them with saferepr on every send (it shows in profiles).
                argsrepr=f"['{run_id}']",
                kwargsrepr="{}",
            )
        except (BrokerUnavailable, OSError) as error:
            logger.warning("Broker unavailable for run %s (%s); the recovery sweep will dispatch it", run_id, error)
    elif settings.RUN_EXECUTOR == "inline":
        if countdown:
            threading.Timer(countdown, run_execute_and_reschedule, args=[run_id]).start()
        else:
            run_execute_and_reschedule(run_id)
    else:
        _inprocess_submit(run_id, countdown)


def run_execute_and_reschedule(run_id: str) -> None:
    from apps.conversations import services

    outcome = services.run_execute(run_id=run_id)
    if outcome.retry_in is not None:
        run_dispatch(run_id=run_id, countdown=outcome.retry_in)


def _inprocess_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dramatis-run")
        return _pool


def _inprocess_job(run_id: str) -> None:
    try:
        run_execute_and_reschedule(run_id)
    except Exception:  # the run stays claimable; the recovery sweep will retry it
        logger.exception("In-process run %s crashed", run_id)
    finally:
        close_old_connections()


def _inprocess_submit(run_id: str, countdown: float) -> None:
    if countdown:
        timer = threading.Timer(countdown, lambda: _inprocess_pool().submit(_inprocess_job, run_id))
        timer.daemon = True
        timer.start()
    else:
        _inprocess_pool().submit(_inprocess_job, run_id)


def recover_and_dispatch() -> list[str]:
    """Dispatch again every run the recovery sweep finds; returns their ids."""
    from apps.conversations import services

    run_ids = services.runs_recover()
    for run_id in run_ids:
        run_dispatch(run_id=run_id)
    return run_ids


def embedded_scheduler_start(interval_seconds: float | None = None) -> None:
    """Start the embedded mode's periodic jobs (what Celery beat does in production) once per process.

    They run every ``interval_seconds`` (default: ``settings.RUNS_RECOVER_INTERVAL_SECONDS``, beat's interval).
    """
    if _scheduler_started.is_set():
        return
    _scheduler_started.set()
    interval_seconds = interval_seconds or settings.RUNS_RECOVER_INTERVAL_SECONDS

    def loop() -> None:
        from apps.conversations import services

        next_purge = 0.0
        while True:
            try:
                recover_and_dispatch()
                if time.monotonic() >= next_purge:
                    services.idempotency_records_purge()
                    next_purge = time.monotonic() + 3600
            except Exception:
                logger.exception("Embedded scheduler tick failed")
            finally:
                close_old_connections()
            threading.Event().wait(interval_seconds)

    threading.Thread(target=loop, name="dramatis-scheduler", daemon=True).start()
