"""What the in-process benchmarks (``post_cpu.py``, ``turn_cpu.py``) share: the production settings pointed at a
database and Redis db of their own, that database made afresh, the CPU profile and where figures go."""

import cProfile
import io
import json
import os
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def environment_prepare(*, database: str, redis_db: int, **extra: str) -> None:
    """Production-shaped settings for this process (debug off, PostgreSQL and Redis on 127.0.0.1); ``extra``
    sets further environment variables."""
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{database}"
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:6379/{redis_db}"
    os.environ.setdefault("DJANGO_SECRET_KEY", f"bench-{database}")
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    # These benches queue thousands of turns on a few sessions with no worker answering them (or answer them one
    # by one, later): lift the unanswered-turn limits, which would refuse them with 429 (as bench/turns.py does).
    os.environ["TURNS_MAX_PENDING_PER_SESSION"] = "1000000"
    os.environ["TURNS_MAX_PENDING_PER_APP"] = "1000000"
    os.environ.update(extra)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def database_recreate(database: str) -> None:
    """Drop ``database`` (whoever is connected) and create it empty."""
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')


def processes_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of ``pids`` so far, from /proc (the servers run on this machine); a process that has
    exited counts nothing."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
    return total / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds(database: str) -> float:
    """CPU seconds spent so far by the PostgreSQL server processes serving ``database``: the server's share of a
    request, which ``process_time`` does not see. Backends that exit between two readings take their time with
    them, so read it around work whose connections stay open (a pool)."""
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        pids = [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database])]
    return processes_cpu_seconds(pids)


def cpu_profile_print(work: Callable[[], None], *, lines: int) -> None:
    """Run ``work`` under cProfile counting CPU time (not waits on the servers) and print the functions with the
    most cumulative time (``PROFILE_SORT=tottime``: by own time); ``PROFILE_FILTER`` narrows the listing,
    ``PROFILE_LINES`` lengthens it, ``PROFILE_CALLERS=<pattern>`` also lists who called the matching functions."""
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    work()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats(os.environ.get("PROFILE_SORT", "cumulative"))
    stats.print_stats(os.environ.get("PROFILE_FILTER", ""), int(os.environ.get("PROFILE_LINES", lines)))
    if os.environ.get("PROFILE_CALLERS"):
        stats.print_callers(os.environ["PROFILE_CALLERS"])
    print(out.getvalue())


def figures_write(name: str, figures: dict) -> None:
    """``var/bench/<name>.json``."""
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    (ROOT / "var" / "bench" / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
