"""Real outages of PostgreSQL and Redis for one test process, without touching the shared servers.

``postgres_down()``: this process's connection pool is rebuilt against a loopback port where nothing listens,
which is what a process sees while PostgreSQL restarts (every connect is refused); on exit the pool is rebuilt
against the real server. ``redis_down()``: the cache points at such a port. ``postgres_connections_killed()``:
the server ends every connection of this test database, as a restart does to the connections a pool holds.
Tests that use them need ``transactional_db`` (a test transaction would hold the one connection).
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection
from django.test import override_settings

from tests.live import free_port

POSTGRES_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a PostgreSQL outage (the embedded default has SQLite)"
)


def _pool_rebuilt() -> None:
    connection.close()  # back to the pool it came from
    connection.close_pool()  # the next connection builds a pool from settings_dict


@contextmanager
def postgres_down() -> Iterator[None]:
    """Requests and tasks in this process fail to reach PostgreSQL until the block ends. The pool gives up on a
    connection after 0.5 s here (``DB_POOL_TIMEOUT`` in production), so the test does not wait for it."""
    database = connection.settings_dict
    port, pool = database["PORT"], database["OPTIONS"]["pool"]
    _pool_rebuilt()
    database["PORT"] = str(free_port())
    database["OPTIONS"]["pool"] = {**pool, "min_size": 0, "timeout": 0.5, "reconnect_timeout": 0.5}
    try:
        yield
    finally:
        _pool_rebuilt()
        database["PORT"], database["OPTIONS"]["pool"] = port, pool


def side_connection() -> psycopg.Connection:
    """A connection of our own to this test database, outside Django's pool (autocommit)."""
    database = connection.settings_dict
    return psycopg.connect(
        host=database["HOST"] or "127.0.0.1",
        port=database["PORT"] or 5432,
        user=database["USER"],
        password=database["PASSWORD"] or None,
        dbname=database["NAME"],
        autocommit=True,
    )


def postgres_connections_killed() -> int:
    """End every server connection to this test database (from a connection of our own); returns how many."""
    connection.close()
    with side_connection() as side:
        pids = [
            pid
            for pid, ended in side.execute(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
            if ended
        ]
        # as after a restart, the ended backends are gone (their sockets closed) before the next request comes
        backends_gone(side, pids)
    return len(pids)


def backends_gone(side: psycopg.Connection, pids: list[int], *, seconds: float = 5.0) -> None:
    """Wait until none of the server backends ``pids`` runs any more (``pg_terminate_backend`` only signals)."""
    deadline = time.monotonic() + seconds
    while side.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids]).fetchone()[0]:
        assert time.monotonic() < deadline, "terminated backends still running"
        time.sleep(0.01)


@contextmanager
def redis_down() -> Iterator[None]:
    """The cache (Redis in production) refuses every connection until the block ends."""
    location = f"redis://127.0.0.1:{free_port()}/0"
    with override_settings(CACHES={"default": {"BACKEND": "apps.core.redis_cache.RedisCache", "LOCATION": location}}):
        yield
