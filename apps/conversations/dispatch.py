"""How an accepted run reaches a worker, chosen by ``settings.RUN_EXECUTOR``.

- ``celery`` (production): a task on the broker; any worker process runs it.
- ``inprocess`` (embedded default): a small thread pool inside the web process, plus a scheduler thread
  that runs the beat schedule in-process (``EmbeddedScheduler``), so one command runs the whole system.
- ``inline``: run at once in the caller's thread (tests, debugging).

Every executor calls the same ``services.run_execute`` and re-dispatches with the backoff it returns.
"""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery.schedules import maybe_schedule
from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string
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


def runs_dispatch(*, run_ids: list[str]) -> None:
    """Hand many runs to the configured executor at once (the proactive scan's batch), to start now.

    On Celery every message goes through one producer (one broker connection, acquired once) instead of one
    ``run_dispatch`` each. Never raises for an unreachable broker: after the first failure the rest are left
    to the recovery sweep too, rather than each waiting out its own publish retries.
    """
    if not run_ids:
        return
    if settings.RUN_EXECUTOR != "celery":
        for run_id in run_ids:
            run_dispatch(run_id=run_id)
        return
    from apps.conversations import tasks  # tasks imports this module for re-dispatch

    task = tasks.run_execute_task
    try:
        with task.app.producer_or_acquire() as producer:
            for run_id in run_ids:
                task.apply_async(
                    args=[run_id],
                    producer=producer,
                    retry=True,
                    retry_policy=_PUBLISH_RETRY,
                    argsrepr=f"['{run_id}']",
                    kwargsrepr="{}",
                )
    except (BrokerUnavailable, OSError) as error:
        logger.warning(
            "Broker unavailable for %d runs (%s); the recovery sweep will dispatch them", len(run_ids), error
        )


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


class EmbeddedScheduler:
    """Runs every ``settings.CELERY_BEAT_SCHEDULE`` entry in-process, on the entry's own schedule.

    The embedded mode has no beat process; this thread stands in for it, so periodic work is declared once
    (a task and a beat entry) and runs in both modes. Each entry runs once at start, then whenever its
    schedule (seconds, ``timedelta`` or ``crontab``) says it is due. Entries run one after another on this
    thread, so a periodic task must stay short and hand long work to the executor.
    """

    def __init__(self, beat_schedule: dict[str, dict]) -> None:
        self.entries = [
            _ScheduledEntry(
                name=name,
                target=import_string(spec["task"]),
                schedule=maybe_schedule(_as_timedelta(spec["schedule"])),
                args=tuple(spec.get("args", ())),
                kwargs=dict(spec.get("kwargs", {})),
            )
            for name, spec in beat_schedule.items()
        ]

    def tick(self) -> float:
        """Run every due entry; return the seconds until the next one is due."""
        next_in = 60.0
        for entry in self.entries:
            due, seconds = (True, 0.0) if entry.last_run_at is None else entry.schedule.is_due(entry.last_run_at)
            if due:
                entry.last_run_at = entry.schedule.now()
                try:
                    entry.target(*entry.args, **entry.kwargs)
                except Exception:
                    logger.exception("Embedded scheduler: %s failed", entry.name)
                finally:
                    close_old_connections()
                seconds = entry.schedule.remaining_estimate(entry.last_run_at).total_seconds()
            next_in = min(next_in, max(seconds, 0.05))
        return next_in


@dataclass
class _ScheduledEntry:
    name: str
    target: Callable[..., Any]
    schedule: Any
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    last_run_at: datetime | None = None


def _as_timedelta(value: Any) -> Any:
    return timedelta(seconds=value) if isinstance(value, int | float) else value


def embedded_scheduler_start() -> None:
    """Start the embedded stand-in for Celery beat once per process (see ``EmbeddedScheduler``)."""
    if _scheduler_started.is_set():
        return
    _scheduler_started.set()
    scheduler = EmbeddedScheduler(settings.CELERY_BEAT_SCHEDULE)

    def loop() -> None:
        while True:
            threading.Event().wait(scheduler.tick())

    threading.Thread(target=loop, name="dramatis-scheduler", daemon=True).start()
