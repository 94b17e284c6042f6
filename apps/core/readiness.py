"""Readiness: can this process serve, and is a worker there to run what it hands off? And the workers' heartbeat.

Each check runs on a small pool with ``READINESS_TIMEOUT_SECONDS`` to answer, all at once, so ``/readyz``
answers within about that long even when a dependency hangs (a check that times out is reported as such and
finishes, or times out on its own client's deadline, in the background; the pool's few threads bound how many
can pile up). Checks:

- ``database``: ``SELECT 1`` on the default connection;
- ``redis``: ``PING`` on ``REDIS_URL`` (when set);
- ``broker``: a connection to ``CELERY_BROKER_URL`` (when work goes to Celery);
- ``worker``: when work goes to Celery, the newest heartbeat a Celery worker wrote (``worker_heartbeat_write``,
  every ``WORKER_HEARTBEAT_SECONDS``) is at most ``WORKER_HEARTBEAT_MAX_AGE_SECONDS`` old; the in-process
  executor of the embedded default is alive while this process is.

Heartbeats are members of one sorted set (``WORKER_HEARTBEAT_KEY``) scored by the time written, so readiness
can say how long ago the last one came; the set expires a day after its last write.
"""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import partial
from typing import Any

import redis
from django.conf import settings
from django.db import connection

_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dramatis-readiness")
_HEARTBEATS_KEPT_SECONDS = 86400


@dataclass(frozen=True)
class Check:
    ok: bool
    ms: float
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "ms": round(self.ms, 1), **self.detail}


def _redis(url: str) -> redis.Redis:
    timeout = settings.READINESS_TIMEOUT_SECONDS
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def _closing[T](work: Callable[[], T]) -> T:
    try:
        return work()
    finally:
        connection.close()  # this pool thread's connection, if it opened one (back to the pool on PostgreSQL)


def bounded[T](work: Callable[[], T], *, timeout: float | None = None) -> T:
    """``work()`` on the readiness pool, given up (TimeoutError) after ``timeout`` (READINESS_TIMEOUT_SECONDS)."""
    future = _pool.submit(_closing, work)
    try:
        return future.result(timeout=settings.READINESS_TIMEOUT_SECONDS if timeout is None else timeout)
    except FutureTimeout:
        raise TimeoutError(f"timed out after {timeout or settings.READINESS_TIMEOUT_SECONDS:g} s") from None


def _redis_ping() -> dict[str, Any]:
    client = _redis(settings.REDIS_URL)
    try:
        client.ping()
    finally:
        client.close()
    return {}


def _broker() -> dict[str, Any]:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        client = _redis(url)
        try:
            client.ping()
        finally:
            client.close()
        return {}
    from kombu import Connection

    timeout = settings.READINESS_TIMEOUT_SECONDS
    with Connection(url, connect_timeout=timeout) as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)
    return {}


def heartbeat_url() -> str:
    """The Redis that holds the workers' heartbeats: ``REDIS_URL``, else a Redis broker; empty when neither."""
    broker = settings.CELERY_BROKER_URL
    return settings.REDIS_URL or (broker if broker.startswith(("redis://", "rediss://")) else "")


class WorkerAbsent(Exception):
    pass


def _worker() -> dict[str, Any]:
    if settings.RUN_EXECUTOR != "celery":
        return {"mode": "in-process"}
    url = heartbeat_url()
    if not url:
        raise WorkerAbsent("no Redis to read worker heartbeats from")
    client = _redis(url)
    try:
        now = time.time()
        newest = client.zrevrange(settings.WORKER_HEARTBEAT_KEY, 0, 0, withscores=True)
        fresh = client.zcount(settings.WORKER_HEARTBEAT_KEY, now - settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS, "+inf")
    finally:
        client.close()
    if not newest:
        raise WorkerAbsent("no worker heartbeat seen")
    age = now - newest[0][1]
    if age > settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS:
        raise WorkerAbsent(f"no heartbeat for {age:.0f} s")
    return {"workers": fresh, "heartbeat_age_s": round(max(age, 0.0), 1)}


def checks_for_settings() -> dict[str, Callable[[], dict[str, Any]]]:
    """The checks that apply to how this process is configured, by name."""
    checks: dict[str, Callable[[], dict[str, Any]]] = {"database": _database}
    if settings.REDIS_URL:
        checks["redis"] = _redis_ping
    if settings.RUN_EXECUTOR == "celery":
        checks["broker"] = _broker
    checks["worker"] = _worker
    return checks


def _timed(check: Callable[[], dict[str, Any]]) -> Check:
    started = time.perf_counter()
    try:
        detail = check()
    except Exception as error:  # any failure is an answer, never a 500
        message = str(error) if isinstance(error, WorkerAbsent) else f"{type(error).__name__}: {error}"
        return Check(False, (time.perf_counter() - started) * 1000, {"error": message[:300]})
    return Check(True, (time.perf_counter() - started) * 1000, detail)


def readiness() -> dict[str, Check]:
    """Run every check at once, each bounded by ``READINESS_TIMEOUT_SECONDS``."""
    timeout = settings.READINESS_TIMEOUT_SECONDS
    started = time.perf_counter()
    futures = {name: _pool.submit(_closing, partial(_timed, check)) for name, check in checks_for_settings().items()}
    results = {}
    for name, future in futures.items():
        left = max(0.0, timeout - (time.perf_counter() - started))
        try:
            results[name] = future.result(timeout=left + 0.05)
        except FutureTimeout:
            results[name] = Check(
                False, (time.perf_counter() - started) * 1000, {"error": f"timed out after {timeout:g} s"}
            )
    return results


def worker_heartbeat_write(*, worker: str) -> None:
    """Record that ``worker`` is alive now (a Celery worker, every ``WORKER_HEARTBEAT_SECONDS``)."""
    url = heartbeat_url()
    if not url:
        return
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        now = time.time()
        key = settings.WORKER_HEARTBEAT_KEY
        pipe = client.pipeline(transaction=False)
        pipe.zadd(key, {worker: now})
        pipe.zremrangebyscore(key, "-inf", now - _HEARTBEATS_KEPT_SECONDS)
        pipe.expire(key, _HEARTBEATS_KEPT_SECONDS)
        pipe.execute()
    finally:
        client.close()


def worker_heartbeat_remove(*, worker: str) -> None:
    """A worker shutting down cleanly takes its heartbeat with it."""
    url = heartbeat_url()
    if not url:
        return
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.zrem(settings.WORKER_HEARTBEAT_KEY, worker)
    finally:
        client.close()
