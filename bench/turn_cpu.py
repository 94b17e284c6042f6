"""CPU and SQL statements of the worker's side of a reply turn, in one process: ``run_execute`` against
PostgreSQL, Redis and the fake OpenAI-compatible server, with the production settings (Celery executor on
Redis, the production event sinks, emotion on with the lexicon appraiser), no Celery worker in between.

Usage::

    .venv/bin/python bench/turn_cpu.py                  # 1,000 turns after a warm-up, then a profile
    .venv/bin/python bench/turn_cpu.py --turns 300 --profile 0

Needs PostgreSQL on 127.0.0.1:5432 (the script drops and re-creates the database ``dramatis_bench_turn``)
and Redis on 127.0.0.1:6379 (db 10, flushed). The messages are sent first (``message_send``; their
dispatches land in Redis and are thrown away), then each run is executed in this process. Prints the
process CPU time per turn (``time.process_time``: excluding waits on PostgreSQL, Redis and the fake model),
the wall time, the statements of one turn (the claim included) and, with ``--profile N``, the functions that
take the most cumulative CPU over N more turns. The texts alternate between calm and charged messages, so
the emotion events that molroo webhooks take (overflow, stage transitions) happen as they do in real chats.
Figures go to ``var/bench/turn_cpu.json``.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from inprocess import (  # noqa: E402
    cpu_profile_print,
    database_recreate,
    environment_prepare,
    figures_write,
    processes_cpu_seconds,
)

DATABASE = "dramatis_bench_turn"
REDIS_DB = 10
TEXTS = [
    "Hello there, how was your day? I wanted to tell you about the trip I am planning for next spring.",
    "I am so angry and scared, everything went wrong today and I hate it!",
    "Thank you, you are wonderful. I love talking with you, it makes me so happy.",
]


def _backend_pids(connection) -> list[int]:
    """The PostgreSQL server processes serving this script's database (the pool's connections)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [connection.settings_dict["NAME"]])
        return [row[0] for row in cursor.fetchall()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--profile", type=int, default=300, help="turns to profile after the timed ones (0: none)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.fakes.openai_server import FakeOpenAIServer

    with FakeOpenAIServer(mode="instant") as llm:
        environment_prepare(
            database=DATABASE,
            redis_db=REDIS_DB,
            LLM_BASE_URL=llm.base_url,
            LLM_API_KEY="bench",
            EMOTION_APPRAISER="lexicon",
        )
        database_recreate(DATABASE)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True, env=os.environ)
        _run(args)


def _run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    import redis
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.accounts import services as accounts_services
    from apps.characters.tests.factories import character_publish
    from apps.conversations import services

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    app = accounts_services.app_create(name="bench")
    character_publish(app, slug="luna")
    sessions = [
        services.session_create(app=app, character_slug="luna", external_user_ref=f"u{index}").id for index in range(64)
    ]
    sent = 0

    def turns(count: int) -> list[str]:
        nonlocal sent
        runs = []
        for _ in range(count):
            text = TEXTS[sent % len(TEXTS)]
            runs.append(services.message_send(app=app, session_id=sessions[sent % 64], text=text).run_ref)
            sent += 1
        return runs

    def execute(runs: list[str]) -> None:
        for run_id in runs:
            assert services.run_execute(run_id=run_id).status == "succeeded"

    execute(turns(256))  # warm-up: every session past its first turn, connections, caches, imports
    runs = turns(args.turns)
    backends = _backend_pids(connection)
    cpu, wall, pg_cpu = time.process_time(), time.perf_counter(), processes_cpu_seconds(backends)
    execute(runs)
    cpu_ms = (time.process_time() - cpu) / args.turns * 1000
    wall_ms = (time.perf_counter() - wall) / args.turns * 1000
    pg_ms = (processes_cpu_seconds(backends) - pg_cpu) / args.turns * 1000
    counts = []
    for run_id in turns(len(TEXTS) * 4):
        with CaptureQueriesContext(connection) as captured:
            execute([run_id])
        counts.append(len(captured.captured_queries))
        if os.environ.get("SHOW_SQL"):
            print("----")
            for q in captured.captured_queries:
                print(q["time"], q["sql"][:300])
    print(f"reply turn, worker side in one process: {cpu_ms:.2f} ms CPU, {wall_ms:.2f} ms wall per turn "
          f"({args.turns} turns), PostgreSQL {pg_ms:.2f} ms CPU; "
          f"statements per turn, claim included: min {min(counts)}, max {max(counts)}")  # fmt: skip
    figures = {
        "turns": args.turns,
        "cpu_ms_per_turn": round(cpu_ms, 3),
        "wall_ms_per_turn": round(wall_ms, 3),
        "postgres_cpu_ms_per_turn": round(pg_ms, 3),
        "statements_min": min(counts),
        "statements_max": max(counts),
    }
    if args.profile:
        runs = turns(args.profile)
        cpu_profile_print(lambda: execute(runs), lines=50)
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    figures_write("turn_cpu", figures)


if __name__ == "__main__":
    main()
