"""The executor's three modes: inline runs now, inprocess runs on the shared pool (delayed work later), and
celery publishes without ever raising for an unreachable broker (the live test runs it against Redis)."""

import logging
import threading
import time

import pytest
from celery import shared_task

from apps.core import executor

calls: list[tuple[tuple, str]] = []
done = threading.Event()


@shared_task
def record_task(*args) -> None:
    calls.append((args, threading.current_thread().name))
    done.set()


@shared_task(queue="images")
def record_image_task(*args) -> None:
    calls.append((args, threading.current_thread().name))
    done.set()


@shared_task
def failing_task() -> None:
    raise RuntimeError("boom")


RECORD = f"{__name__}.record_task"


@pytest.fixture(autouse=True)
def _fresh():
    calls.clear()
    done.clear()


@pytest.fixture
def inprocess(settings):
    settings.RUN_EXECUTOR = "inprocess"


def test_inline_runs_the_task_now_in_the_callers_thread():
    executor.submit(RECORD, "a", 1)
    executor.submit(record_task, "b")  # the task object works as well as its name
    me = threading.current_thread().name
    assert calls == [(("a", 1), me), (("b",), me)]


def test_inline_leaves_delayed_work_to_the_sweeps_and_lets_errors_through():
    executor.submit(RECORD, "later", countdown=5.0)
    assert calls == []  # no timer thread outside the test's transaction: the sweeps pick the work up
    with pytest.raises(RuntimeError, match="boom"):
        executor.submit(failing_task)


def test_inline_submit_many_runs_each_in_order():
    executor.submit_many(RECORD, [("a",), ("b",)])
    executor.submit_many(RECORD, [])
    assert [args for args, _ in calls] == [("a",), ("b",)]


def test_inprocess_runs_on_the_shared_pool(inprocess):
    executor.submit(RECORD, "pooled")
    assert done.wait(5), "the pool never ran the task"
    ((args, thread),) = calls
    assert args == ("pooled",) and thread.startswith("dramatis-task")


def test_inprocess_runs_image_tasks_on_their_own_pool(inprocess):
    """A task of the ``images`` queue never takes a thread the turns need."""
    executor.submit(record_image_task, "drawn")
    assert done.wait(5), "the images pool never ran the task"
    ((args, thread),) = calls
    assert args == ("drawn",) and thread.startswith("dramatis-img")


def test_inprocess_runs_delayed_work_after_its_countdown(inprocess):
    started = time.monotonic()
    executor.submit(RECORD, "delayed", countdown=0.3)
    assert calls == []
    assert done.wait(5), "the delayed task never ran"
    assert time.monotonic() - started >= 0.3  # a timer never fires early
    assert calls[0][0] == ("delayed",) and calls[0][1].startswith("dramatis-task")


def test_inprocess_logs_a_crash_and_keeps_running(inprocess, caplog):
    with caplog.at_level(logging.ERROR, logger="apps.core.executor"):
        executor.submit(failing_task)
        executor.submit(RECORD, "after")
        assert done.wait(5)
    deadline = time.monotonic() + 5
    while "crashed" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "failing_task" in caplog.text and "crashed" in caplog.text
    assert calls[0][0] == ("after",)


def test_a_task_named_by_its_path_is_imported_once(monkeypatch):
    imported = []
    real = executor.import_string
    monkeypatch.setattr(executor, "import_string", lambda path: imported.append(path) or real(path))
    executor._task_named.cache_clear()
    for _ in range(3):
        executor.submit(RECORD, "x")
    assert imported == [RECORD] and len(calls) == 3


# --- celery mode with an unreachable broker (``unreachable_broker``: tests/fakes/fixtures.py) -------------------
def test_an_unreachable_broker_is_logged_not_raised(unreachable_broker, caplog):
    with caplog.at_level(logging.WARNING, logger="apps.core.executor"):
        executor.submit(RECORD, "lost", countdown=2.0)
        executor.submit_many(RECORD, [("a",), ("b",)])
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings  # one for the submit, one for the whole batch
    assert "record_task" in warnings[0] and "sweep" in warnings[0]
    assert warnings[1].startswith("Broker unavailable for 2 x ")
    assert calls == []
