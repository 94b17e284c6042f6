"""CPU of one message POST inside the web process: Django's test client against PostgreSQL and Redis, the
production settings (Celery executor on Redis, the production event sinks), no HTTP server in between.

Usage::

    .venv/bin/python bench/post_cpu.py                 # 2,000 POSTs after a warm-up, then a profile
    .venv/bin/python bench/post_cpu.py --posts 500 --profile 0

Needs PostgreSQL on 127.0.0.1:5432 (the script drops and re-creates the database ``dramatis_bench_post``)
and Redis on 127.0.0.1:6379 (db 11, flushed: the runs the POSTs queue land there and are thrown away).
Prints the process CPU time per POST (``time.process_time``: what the web process spends, excluding waits
on PostgreSQL and Redis) and the wall time per POST, then, with ``--profile N``, the functions that take the
most cumulative time over N more POSTs under cProfile. Figures go to ``var/bench/post_cpu.json``.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from inprocess import cpu_profile_print, database_recreate, environment_prepare, figures_write  # noqa: E402

DATABASE = "dramatis_bench_post"
REDIS_DB = 11


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--profile", type=int, default=500, help="POSTs to profile after the timed ones (0: none)")
    args = parser.parse_args()
    environment_prepare(database=DATABASE, redis_db=REDIS_DB, DJANGO_ALLOWED_HOSTS="testserver,127.0.0.1")
    database_recreate(DATABASE)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    import redis
    from django.test import Client

    from apps.accounts import services as accounts_services
    from apps.characters.tests.factories import character_publish
    from apps.conversations import services

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    app = accounts_services.app_create(name="bench")
    key = accounts_services.api_key_create(app=app, name="bench").raw_key
    character_publish(app, slug="luna")
    sessions = [
        services.session_create(app=app, character_slug="luna", external_user_ref=f"u{index}").id for index in range(64)
    ]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    body = json.dumps({"text": "Hello there, how was your day? I wanted to tell you about my trip."})

    def post(index: int) -> None:
        response = client.post(f"/v1/sessions/{sessions[index % 64]}/messages", body, content_type="application/json")
        assert response.status_code == 202, response.content

    for index in range(200):  # warm-up: connections, caches, imports
        post(index)
    cpu, wall = time.process_time(), time.perf_counter()
    for index in range(args.posts):
        post(index)
    cpu_ms = (time.process_time() - cpu) / args.posts * 1000
    wall_ms = (time.perf_counter() - wall) / args.posts * 1000
    print(f"message POST through the test client: {cpu_ms:.2f} ms CPU, {wall_ms:.2f} ms wall per POST "
          f"({args.posts} POSTs)")  # fmt: skip
    figures = {"posts": args.posts, "cpu_ms_per_post": round(cpu_ms, 3), "wall_ms_per_post": round(wall_ms, 3)}
    if args.profile:
        cpu_profile_print(lambda: [post(index) for index in range(args.profile)], lines=40)
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    figures_write("post_cpu", figures)


if __name__ == "__main__":
    main()
