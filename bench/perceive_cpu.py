"""CPU and SQL statements of the persona API's perceive (molroo SDK 0.7) inside the web process: Django's test
client against PostgreSQL and Redis with the production settings, no HTTP server in between.

Usage::

    .venv/bin/python bench/perceive_cpu.py                 # 2,000 perceives after a warm-up, then a profile
    .venv/bin/python bench/perceive_cpu.py --requests 500 --profile 0
    .venv/bin/python bench/perceive_cpu.py --database dramatis_me_bench --redis-db 12

Needs PostgreSQL on 127.0.0.1:5432 (the script drops and re-creates ``--database``) and Redis on 127.0.0.1:6379
(``--redis-db``; the script writes nothing there itself). ``POST /emotion/v1/personas/{id}/perceive`` with a
given appraisal (the bench's ``bench/emotion.py`` body) over 32 personas, ``--unappraised`` for the lexicon
appraiser instead. Prints the process CPU time per request (``time.process_time``: excluding waits on the
servers), the wall time, the statements of one request and, with ``--profile N``, the functions that take the
most cumulative CPU over N more requests. Figures go to ``var/bench/perceive_cpu.json``.
"""

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from emotion import APPRAISAL, CONFIG  # noqa: E402 - the HTTP bench's body and persona
from inprocess import (  # noqa: E402
    cpu_profile_print,
    database_recreate,
    environment_prepare,
    figures_write,
    postgres_cpu_seconds,
)  # noqa: E402

PERSONAS = 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", type=int, default=500, help="requests to profile after the timed ones (0: none)")
    parser.add_argument("--database", default="dramatis_bench_perceive")
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--unappraised", action="store_true", help="no appraisal in the body: the lexicon's")
    args = parser.parse_args()
    environment_prepare(
        database=args.database,
        redis_db=args.redis_db,
        DJANGO_ALLOWED_HOSTS="testserver,127.0.0.1",
        EMOTION_APPRAISER="lexicon",
    )
    database_recreate(args.database)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from apps.accounts import services as accounts_services
    from apps.personas import services as persona_services

    app = accounts_services.app_create(name="bench")
    key = accounts_services.api_key_create(app=app, name="bench").raw_key
    personas = [persona_services.persona_create(app=app, config=CONFIG).id for _ in range(PERSONAS)]
    client = Client(HTTP_X_API_KEY=key)
    messages = ["Thank you, that was kind.", "I brought you some tea.", "Shall we walk to the harbour later?"]

    def body(index: int) -> str:
        event = {"type": "chat_message", "sourceEntity": "bench", "payload": {"message": messages[index % 3]}}
        if not args.unappraised:
            event["appraisal"] = APPRAISAL
        return json.dumps({"event": event})

    bodies = [body(index) for index in range(PERSONAS * 3)]

    def perceive(index: int) -> None:
        url = f"/emotion/v1/personas/{personas[index % PERSONAS]}/perceive"
        response = client.post(url, bodies[index % len(bodies)], content_type="application/json")
        assert response.status_code == 200, response.content

    for index in range(200):  # warm-up: connections, caches, imports, every persona's relationship row
        perceive(index)
    counts, statements = Counter(), []
    for index in range(PERSONAS):  # one request per persona: a rare stage transition reads webhook routes
        seen: list[str] = []
        # the pooled connection is handed back after each request: the wrapper stays with the alias
        with connection.execute_wrapper(lambda execute, sql, *rest, seen=seen: seen.append(sql) or execute(sql, *rest)):
            perceive(index)
        counts[len(seen)] += 1
        if not statements or len(seen) < len(statements):
            statements = seen  # the usual request's
    print("statements per request (besides BEGIN and COMMIT):", dict(counts))
    server, cpu, wall = postgres_cpu_seconds(args.database), time.process_time(), time.perf_counter()
    for index in range(args.requests):
        perceive(index)
    cpu_ms = (time.process_time() - cpu) / args.requests * 1000
    wall_ms = (time.perf_counter() - wall) / args.requests * 1000
    server_ms = (postgres_cpu_seconds(args.database) - server) / args.requests * 1000
    print(f"perceive through the test client: {cpu_ms:.2f} ms CPU, {wall_ms:.2f} ms wall per request "
          f"({args.requests} requests); PostgreSQL: {server_ms:.2f} ms CPU per request")  # fmt: skip
    for sql in statements:
        print("   ", sql[:160])
    figures = {
        "requests": args.requests,
        "appraisal": "lexicon" if args.unappraised else "given",
        "statements": len(statements),
        "cpu_ms_per_request": round(cpu_ms, 3),
        "wall_ms_per_request": round(wall_ms, 3),
        "postgres_cpu_ms_per_request": round(server_ms, 3),
    }
    if args.profile:
        cpu_profile_print(lambda: [perceive(index) for index in range(args.profile)], lines=45)
    figures_write("perceive_cpu", figures)


if __name__ == "__main__":
    main()
