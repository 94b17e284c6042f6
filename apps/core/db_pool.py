"""How the PostgreSQL connection pool tells a live pooled connection from one that died while idle.

psycopg_pool's own check (``ConnectionPool.check_connection``, what Django's ``CONN_HEALTH_CHECKS`` turns on)
sends an empty query on every checkout: a network round trip on every request, about a fifth of a molroo
``perceive``'s time under load. ``connection_check`` asks the kernel instead. An idle connection in autocommit
has nothing to read: the server speaks only when asked. When PostgreSQL shuts a backend down (a restart, a
failover, ``pg_terminate_backend``, an idle timeout) it writes its FATAL message and closes the socket, which then
polls readable. So a connection that is open and has nothing waiting is handed out at once, and only one with
something waiting (that goodbye, or a rare asynchronous notice) gets the full round-trip check, which discards it
when it is dead. A server that vanished without closing its sockets is not seen by either check until the query
fails; that request answers 503 and Django closes the broken connection.

Imported by the settings module, so it touches nothing of Django's.
"""

import select

import psycopg
from psycopg_pool import ConnectionPool


def connection_check(conn: psycopg.Connection) -> None:
    """Raise if ``conn`` is closed or its server has hung up; cost: one ``poll`` system call when it is fine."""
    if conn.closed:
        raise psycopg.OperationalError("the pooled connection is closed")
    poller = select.poll()
    try:
        poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
        waiting = poller.poll(0)
    except (OSError, ValueError, psycopg.Error):
        waiting = True
    if waiting:
        ConnectionPool.check_connection(conn)
