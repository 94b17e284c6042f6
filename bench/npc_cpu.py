"""CPU and SQL statements of one NPC message in one process: ``POST /npc/api/v1/sdk/chat/{id}/message``
through Django's whole request stack (the test client: middleware, authentication, the view, the turn)
against PostgreSQL and Redis with the production settings, the offline ``scripted`` model and
``bench/npc.py``'s looping scenario (every message decided by a matcher).

Usage::

    .venv/bin/python bench/npc_cpu.py                   # 1,000 messages after a warm-up, then a profile
    .venv/bin/python bench/npc_cpu.py --messages 300 --profile 0

Needs PostgreSQL on 127.0.0.1:5432 (the script drops and re-creates ``dramatis_bench_npc_cpu``) and Redis
on 127.0.0.1:6379 (db 11, flushed). Prints the process CPU per message (``time.process_time``: excluding waits
on the servers), the wall time, PostgreSQL's CPU, the statements of one message and, with ``--profile N``,
the functions with the most cumulative CPU over N more messages. Figures go to ``var/bench/npc_cpu.json``.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from inprocess import cpu_profile_print, database_recreate, environment_prepare, figures_write  # noqa: E402
from npc import scenario  # noqa: E402
from turn_cpu import _backend_pids, _cpu_seconds  # noqa: E402

DATABASE = "dramatis_bench_npc_cpu"
REDIS_DB = 11
PLAYERS = 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--profile", type=int, default=300, help="messages to profile after the timed ones (0: none)")
    args = parser.parse_args()
    environment_prepare(
        database=DATABASE,
        redis_db=REDIS_DB,
        DJANGO_ALLOWED_HOSTS="testserver,127.0.0.1",
        LLM_BASE_URL="",
        LLM_CHAT_MODEL="scripted",
    )
    database_recreate(DATABASE)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True, env=os.environ)
    _run(args)


def _run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    import redis
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.accounts import services as accounts_services

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    app = accounts_services.app_create(name="bench npc")
    key = accounts_services.api_key_create(app=app, name="bench").raw_key
    client = Client(HTTP_X_API_KEY=key)
    saved = client.post("/npc/api/v1/creator/save", scenario(), content_type="application/json")
    assert saved.status_code in (200, 201), saved.content
    persona = saved.json()["persona_id"]
    chat = f"/npc/api/v1/sdk/chat/{persona}/"
    for index in range(PLAYERS):
        body = {"user_session_id": f"p{index}", "player_name": f"Player {index}", "player_gender": "female"}
        assert client.post(chat + "init-session", body, content_type="application/json").status_code == 200
    sent = 0

    def send(count: int) -> None:
        nonlocal sent
        for _ in range(count):
            body = {"message": "hello there", "user_session_id": f"p{sent % PLAYERS}"}
            answer = client.post(chat + "message", body, content_type="application/json")
            assert answer.status_code == 200, answer.content
            sent += 1

    send(256)  # warm-up: connections, caches, compiled reads, imports
    backends = _backend_pids(connection)
    cpu, wall, pg_cpu = time.process_time(), time.perf_counter(), _cpu_seconds(backends)
    send(args.messages)
    cpu_ms = (time.process_time() - cpu) / args.messages * 1000
    wall_ms = (time.perf_counter() - wall) / args.messages * 1000
    pg_ms = (_cpu_seconds(backends) - pg_cpu) / args.messages * 1000
    with CaptureQueriesContext(connection) as captured:
        send(1)
    statements = len(captured.captured_queries)
    if os.environ.get("SHOW_SQL"):
        for query in captured.captured_queries:
            print(query["time"], query["sql"][:300])
    print(f"NPC message, whole request in one process: {cpu_ms:.2f} ms CPU, {wall_ms:.2f} ms wall per message "
          f"({args.messages} messages), PostgreSQL {pg_ms:.2f} ms CPU; {statements} statements per message")  # fmt: skip  # noqa: E501
    figures_write(
        "npc_cpu",
        {
            "messages": args.messages,
            "cpu_ms_per_message": round(cpu_ms, 3),
            "wall_ms_per_message": round(wall_ms, 3),
            "postgres_cpu_ms_per_message": round(pg_ms, 3),
            "statements": statements,
        },
    )
    if args.profile:
        cpu_profile_print(lambda: send(args.profile), lines=45)


if __name__ == "__main__":
    main()
