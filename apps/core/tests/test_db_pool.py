"""The pool's connection check: a poll of the socket, and psycopg_pool's round trip only when the server spoke."""

import select

import psycopg
import pytest

from apps.core.db_pool import connection_check
from tests.outages import POSTGRES_ONLY, backends_gone, side_connection

pytestmark = [POSTGRES_ONLY, pytest.mark.django_db]  # the test database, reached on connections of our own


def _last_query(side: psycopg.Connection, pid: int) -> str:
    return side.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]


def test_a_live_idle_connection_passes_without_a_round_trip():
    with side_connection() as pooled, side_connection() as side:
        pooled.execute("SELECT 1 AS marker_of_the_last_query")

        connection_check(pooled)

        # the server saw nothing after the marker: psycopg_pool's check would have left an empty query there
        assert _last_query(side, pooled.info.backend_pid) == "SELECT 1 AS marker_of_the_last_query"
        assert pooled.execute("SELECT 2").fetchone() == (2,)


def test_a_connection_the_server_ended_fails_the_check():
    with side_connection() as pooled, side_connection() as side:
        pid = pooled.info.backend_pid
        side.execute("SELECT pg_terminate_backend(%s)", [pid])
        backends_gone(side, [pid])

        with pytest.raises(psycopg.OperationalError):
            connection_check(pooled)


def test_a_closed_connection_fails_the_check():
    pooled = side_connection()
    pooled.close()

    with pytest.raises(psycopg.OperationalError):
        connection_check(pooled)


def test_a_live_connection_with_a_message_waiting_passes_after_a_round_trip():
    with side_connection() as pooled, side_connection() as side:
        pooled.execute("LISTEN dramatis_pool_check")
        side.execute("NOTIFY dramatis_pool_check")  # an asynchronous message: the socket polls readable
        assert select.select([pooled.fileno()], [], [], 5.0)[0], "the notification never arrived"

        connection_check(pooled)

        # the full check ran (an empty query) and the connection is still good
        assert _last_query(side, pooled.info.backend_pid) == ""
        assert pooled.execute("SELECT 3").fetchone() == (3,)
