"""CPU and SQL statements of one OpenAI-door chat completion in one process: ``POST /openai/v1/chat/completions``
through Django's whole request stack (the test client) against PostgreSQL and Redis with the production
settings and the offline ``scripted`` model; a character call with ``user`` (a whole turn in the request) and
one without (stateless).

Usage::

    .venv/bin/python bench/openai_cpu.py                    # 1,000 calls of each kind, then a profile
    .venv/bin/python bench/openai_cpu.py --calls 300 --profile 0
    PROFILE_FILTER=apps/ .venv/bin/python bench/openai_cpu.py   # only our functions in the profile

Needs PostgreSQL on 127.0.0.1:5432 (the script drops and re-creates ``dramatis_bench_openai_cpu``) and Redis
on 127.0.0.1:6379 (db 9, flushed). Prints the process CPU per call (``time.process_time``: excluding waits on
the servers), the wall time, PostgreSQL's CPU and the statements of one call, and with ``--profile N`` the
functions with the most cumulative CPU over N more calls with ``user``. Figures go to
``var/bench/openai_cpu.json``.
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
from turn_cpu import _backend_pids, _cpu_seconds  # noqa: E402

DATABASE = "dramatis_bench_openai_cpu"
REDIS_DB = 9
USERS = 64
CHARACTER = {"slug": "bench-hero", "display_name": "Hero", "greeting": "Hi."}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--profile", type=int, default=300, help="calls with user to profile (0: none)")
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
    app = accounts_services.app_create(name="bench openai")
    key = accounts_services.api_key_create(app=app, name="bench").raw_key
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    published = client.post("/v1/characters", CHARACTER, content_type="application/json")
    assert published.status_code in (200, 201), published.content
    sent = 0

    def call(count: int, *, with_user: bool) -> None:
        nonlocal sent
        for _ in range(count):
            body = {"model": "character:bench-hero", "messages": [{"role": "user", "content": "hello there"}]}
            if with_user:
                body["user"] = f"u{sent % USERS}"
            answer = client.post("/openai/v1/chat/completions", body, content_type="application/json")
            assert answer.status_code == 200, answer.content
            sent += 1

    figures = {"calls": args.calls}
    for kind, with_user in (("with_user", True), ("stateless", False)):
        call(256, with_user=with_user)  # warm-up: connections, caches, compiled reads, every user's session
        backends = _backend_pids(connection)
        cpu, wall, pg_cpu = time.process_time(), time.perf_counter(), _cpu_seconds(backends)
        call(args.calls, with_user=with_user)
        cpu_ms = (time.process_time() - cpu) / args.calls * 1000
        wall_ms = (time.perf_counter() - wall) / args.calls * 1000
        pg_ms = (_cpu_seconds(backends) - pg_cpu) / args.calls * 1000
        with CaptureQueriesContext(connection) as captured:
            call(1, with_user=with_user)
        statements = len(captured.captured_queries)
        if os.environ.get("SHOW_SQL"):
            for query in captured.captured_queries:
                print(query["time"], query["sql"][:300])
        print(
            f"chat completion {kind}, whole request in one process: {cpu_ms:.2f} ms CPU, {wall_ms:.2f} ms wall "
            f"per call ({args.calls} calls), PostgreSQL {pg_ms:.2f} ms CPU; {statements} statements per call"
        )
        figures[kind] = {
            "cpu_ms_per_call": round(cpu_ms, 3),
            "wall_ms_per_call": round(wall_ms, 3),
            "postgres_cpu_ms_per_call": round(pg_ms, 3),
            "statements": statements,
        }
    figures_write("openai_cpu", figures)
    if args.profile:
        cpu_profile_print(lambda: call(args.profile, with_user=True), lines=60)


if __name__ == "__main__":
    main()
