"""The one way work leaves a request or a task: ``submit(task, *args, countdown=...)``.

``task`` is a Celery task, named by its dotted path (``"apps.conversations.tasks.run_execute_task"``) or
given as the task object. Naming it by path is what lets a service hand work to its own app's ``tasks``
(which import the service) without importing them. Where the work runs follows ``settings.RUN_EXECUTOR``:

- ``celery`` (production): a message on the broker; any worker runs the task. Publishing retries briefly
  and never raises for an unreachable broker: the work is durable in the database and a sweep (beat)
  hands it off again, so it is done late rather than lost.
- ``inprocess`` (embedded default): the same task function, called on a thread pool in this process: one
  pool per Celery queue the task declares (``RUN_EXECUTOR_THREADS`` threads for the default queue,
  ``IMAGE_EXECUTOR_THREADS`` for ``images``), so slow image drawings never hold up turns, as separate
  worker queues keep them apart in production; a delayed submit waits on a daemon timer. Like zulip's
  ``queue_json_publish`` with no queue server: the consumer runs in-process.
- ``inline`` (tests): the task function runs now, in the caller's thread, and its errors propagate. Delayed
  work (``countdown > 0``) is not run at all: it is durable and the sweeps pick it up, so a test never has
  a timer thread running outside its transaction.

Tasks take ids, call a service, and resubmit themselves through here when the service asks for a retry.
The embedded stand-in for beat (``scheduler``) lives beside this module.
"""

import logging
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from celery import Task
from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string
from kombu.exceptions import OperationalError as BrokerUnavailable

from apps.core import log_context

logger = logging.getLogger(__name__)

# Publishing waits at most ~0.6 s for an unreachable broker: the work is already durable in the database.
_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.25, "interval_max": 0.5}

_pools: dict[str, ThreadPoolExecutor] = {}
_pool_lock = threading.Lock()
IMAGES_QUEUE = "images"


@cache
def _task_named(path: str) -> Task:
    return _task_object(import_string(path))


def _task_object(task: Any) -> Task:
    # ``shared_task`` returns a proxy that looks the task up on every attribute access; keep the task itself.
    current = getattr(task, "_get_current_object", None)
    return current() if current is not None else task


def _resolve(task: str | Task) -> Task:
    return _task_named(task) if isinstance(task, str) else _task_object(task)


def submit(task: str | Task, *args: Any, countdown: float = 0.0) -> None:
    """Run ``task(*args)`` on the configured executor, ``countdown`` seconds from now. Never raises for an
    unreachable broker (see the module docstring)."""
    resolved = _resolve(task)
    mode = settings.RUN_EXECUTOR
    if mode == "celery":
        try:
            resolved.apply_async(
                args=args,
                countdown=countdown or None,
                retry=True,
                retry_policy=_PUBLISH_RETRY,
                # Given, so Celery skips building them with saferepr on every send (it shows in profiles).
                argsrepr=repr(args),
                kwargsrepr="{}",
            )
        except (BrokerUnavailable, OSError) as error:
            logger.warning("Broker unavailable for %s%r (%s); its sweep will hand it off", resolved.name, args, error)
    elif mode == "inline":
        if not countdown:
            resolved.run(*args)
    elif countdown:
        timer = threading.Timer(countdown, _inprocess_submit, args=(resolved, args))
        timer.daemon = True
        timer.start()
    else:
        _inprocess_submit(resolved, args)


def submit_many(task: str | Task, args_list: Iterable[Sequence[Any]]) -> None:
    """``submit(task, *args)`` for each ``args`` in ``args_list``, to run now (a sweep's or a scan's batch).

    On Celery every message goes through one producer (one broker connection, acquired once). Never raises
    for an unreachable broker: after the first failure the rest are left to the sweeps too, rather than each
    waiting out its own publish retries.
    """
    batch = [tuple(args) for args in args_list]
    if not batch:
        return
    resolved = _resolve(task)
    if settings.RUN_EXECUTOR != "celery":
        for args in batch:
            submit(resolved, *args)
        return
    try:
        with resolved.app.producer_or_acquire() as producer:
            for args in batch:
                resolved.apply_async(
                    args=args,
                    producer=producer,
                    retry=True,
                    retry_policy=_PUBLISH_RETRY,
                    argsrepr=repr(args),
                    kwargsrepr="{}",
                )
    except (BrokerUnavailable, OSError) as error:
        logger.warning("Broker unavailable for %d x %s (%s); their sweep will hand them off", len(batch),
                       resolved.name, error)  # fmt: skip


def _inprocess_pool(queue: str | None = None) -> ThreadPoolExecutor:
    """The pool of ``queue``'s tasks: the images queue has its own; every other task shares the default one."""
    key = IMAGES_QUEUE if queue == IMAGES_QUEUE else ""
    with _pool_lock:
        pool = _pools.get(key)
        if pool is None:
            threads, prefix = (
                (settings.IMAGE_EXECUTOR_THREADS, "dramatis-img")
                if key
                else (settings.RUN_EXECUTOR_THREADS, "dramatis-task")
            )
            pool = _pools[key] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=prefix)
        return pool


def _inprocess_submit(task: Task, args: tuple) -> None:
    _inprocess_pool(getattr(task, "queue", None)).submit(_inprocess_job, task, args)


def _inprocess_job(task: Task, args: tuple) -> None:
    try:
        with log_context.scope():  # pool threads are reused: each job starts with no fields of the last
            task.run(*args)
    except Exception:  # the work stays in the database; its sweep hands it off again
        logger.exception("In-process task %s%r crashed", task.name, args)
    finally:
        close_old_connections()  # as a worker does after each task: this thread's connection may be stale


# Kombu's Redis transport keeps a queue as one list per priority step: the name, then name + sep + step.
_KOMBU_PRIORITY_KEYS = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def queue_depths(*, timeout: float = 1.0) -> dict[str, int]:
    """Tasks waiting per queue (``dramatis`` and ``images``), read now: the broker's lists when work goes to
    Celery on a Redis broker, the in-process pools' backlogs otherwise; empty when neither can be read."""
    queues = (settings.CELERY_TASK_DEFAULT_QUEUE, IMAGES_QUEUE)
    if settings.RUN_EXECUTOR == "celery":
        url = settings.CELERY_BROKER_URL
        if not url.startswith(("redis://", "rediss://")):
            return {}
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            pipe = client.pipeline(transaction=False)
            for queue in queues:
                for suffix in _KOMBU_PRIORITY_KEYS:
                    pipe.llen(queue + suffix)
            lengths = pipe.execute()
        finally:
            client.close()
        steps = len(_KOMBU_PRIORITY_KEYS)
        return {queue: sum(lengths[index * steps : (index + 1) * steps]) for index, queue in enumerate(queues)}
    with _pool_lock:
        pools = dict(_pools)
    # The pool's own queue of submitted, not yet started jobs (ThreadPoolExecutor keeps no public count).
    return {
        queue: (pool._work_queue.qsize() if (pool := pools.get("" if queue != IMAGES_QUEUE else IMAGES_QUEUE)) else 0)
        for queue in queues
    }
