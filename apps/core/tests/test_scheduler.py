"""The embedded stand-in for Celery beat runs every beat entry in-process, each on its own schedule."""

from datetime import timedelta

import pytest
from celery.schedules import crontab

from apps.core.scheduler import EmbeddedScheduler

# Each run ends by closing stale DB connections, as a worker does; that needs real (non-atomic) DB access.
pytestmark = pytest.mark.django_db(transaction=True)

calls: list[tuple] = []


def record_call(*args, **kwargs) -> None:
    calls.append((args, kwargs))


def always_fails() -> None:
    raise RuntimeError("boom")


def _entry(schedule, **extra) -> dict:
    return {"task": f"{__name__}.record_call", "schedule": schedule, **extra}


def test_every_entry_runs_once_at_start_with_its_args():
    calls.clear()
    scheduler = EmbeddedScheduler({"a": _entry(30.0, args=[1]), "b": _entry(timedelta(hours=1), kwargs={"k": 2})})
    scheduler.tick()
    assert sorted(calls, key=repr) == sorted([((1,), {}), ((), {"k": 2})], key=repr)


def test_an_entry_runs_again_only_when_its_interval_has_passed():
    calls.clear()
    scheduler = EmbeddedScheduler({"fast": _entry(30.0)})
    first_wait = scheduler.tick()
    assert len(calls) == 1 and 29 < first_wait <= 30
    scheduler.tick()  # not due yet
    assert len(calls) == 1
    scheduler.entries[0].last_run_at -= timedelta(seconds=31)  # as if 31 s went by
    scheduler.tick()
    assert len(calls) == 2


def test_the_wait_is_the_soonest_due_entry_and_crontab_entries_are_understood():
    calls.clear()
    scheduler = EmbeddedScheduler({"hourly": _entry(3600.0), "cron": _entry(crontab(minute="*")), "fast": _entry(5)})
    wait = scheduler.tick()
    assert len(calls) == 3
    assert 0 < wait <= 5


def test_a_failing_entry_does_not_stop_the_others():
    calls.clear()
    scheduler = EmbeddedScheduler({"bad": {"task": f"{__name__}.always_fails", "schedule": 10.0}, "good": _entry(10.0)})
    scheduler.tick()
    assert len(calls) == 1


def test_the_project_beat_schedule_loads(settings):
    scheduler = EmbeddedScheduler(settings.CELERY_BEAT_SCHEDULE)
    names = {entry.name for entry in scheduler.entries}
    assert {"runs-recover", "idempotency-records-purge"} <= names
    assert all(callable(entry.target) for entry in scheduler.entries)
