"""The embedded stand-in for Celery beat: every ``settings.CELERY_BEAT_SCHEDULE`` entry, run in-process.

The embedded mode (``RUN_EXECUTOR=inprocess``) has no beat process; ``embedded_scheduler_start`` starts a
thread that runs the beat schedule itself, so periodic work is declared once (a task and a beat entry) and
runs in both modes. Long work is handed to the executor (``apps.core.executor``) by the periodic task.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery.schedules import maybe_schedule
from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

_scheduler_started = threading.Event()


class EmbeddedScheduler:
    """Runs every beat entry in-process, on the entry's own schedule.

    Each entry runs once at start, then whenever its schedule (seconds, ``timedelta`` or ``crontab``) says
    it is due. Entries run one after another on this thread, so a periodic task must stay short and hand
    long work to the executor.
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
    """Start the embedded stand-in for Celery beat once per process (see ``EmbeddedScheduler``).

    Its first tick runs every entry at once, the runs' recovery sweep among them, so runs the last shutdown
    left behind are handed to the executor when the process starts rather than an interval later.
    """
    if _scheduler_started.is_set():
        return
    _scheduler_started.set()
    scheduler = EmbeddedScheduler(settings.CELERY_BEAT_SCHEDULE)

    def loop() -> None:
        while True:
            threading.Event().wait(scheduler.tick())

    threading.Thread(target=loop, name="dramatis-scheduler", daemon=True).start()
