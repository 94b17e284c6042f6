"""What the rate limiter costs a request: the limiter call against Redis, and a whole counted GET in-process.

Usage::

    .venv/bin/python bench/rate_limits.py              # 5,000 limiter calls per phase, 2,000 GETs per side
    .venv/bin/python bench/rate_limits.py --calls 1000 --gets 500

Needs PostgreSQL on 127.0.0.1:5432 (the script drops and re-creates ``dramatis_bench_limits``) and Redis on
127.0.0.1:6379 (db 11; only this run's keys are written, under their own prefix). Phases:

(a) ``PING``: one Redis round trip from this process, the floor for anything the limiter does.
(b) ``rate_limit_hit`` on a window with room (a plan of 100/min; a fresh key every 100 hits), and on a full
    window (refused): the limiter's two Lua scripts (take a slot, read what is left for the headers) in one
    pipelined round trip.
(c) ``GET /v1/characters`` through Django's test client (the production settings and middleware, no HTTP
    server): an app without a plan and an app on a plan, request by request in turn. The difference of the
    medians is what the limiter adds to a counted request, headers included.

``get_cpu_us`` is this process's CPU per GET (``time.process_time``), which the machine's load does not
inflate the way it inflates wall times (each Redis round trip gives the core away). Medians and p99 in
microseconds are printed and written to ``var/bench/rate_limits.json``.
"""

import argparse
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from inprocess import database_recreate, environment_prepare, figures_write  # noqa: E402

DATABASE = "dramatis_bench_limits"
REDIS_DB = 11


def _timed(work, times: int) -> list[float]:
    samples = []
    for index in range(times):
        started = time.perf_counter()
        work(index)
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def _summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"median_us": round(statistics.median(ordered), 1), "p99_us": round(ordered[int(len(ordered) * 0.99)], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--gets", type=int, default=2000)
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    environment_prepare(
        database=DATABASE,
        redis_db=REDIS_DB,
        DJANGO_ALLOWED_HOSTS="testserver,127.0.0.1",
        RATE_LIMIT_KEY_PREFIX=f"bench-rate-{run}",
    )
    database_recreate(DATABASE)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.test import Client

    from apps.accounts import services as accounts_services
    from apps.accounts.models import Plan
    from apps.core.rate_limits import rate_limit_hit

    figures: dict = {}
    client = redis.Redis.from_url(settings.REDIS_URL)
    figures["redis_ping"] = _summary(_timed(lambda _: client.ping(), args.calls))

    rate_limit_hit(key="warm", per_minute=100)  # loads the scripts
    allowed = _timed(lambda index: rate_limit_hit(key=f"room-{index // 100}", per_minute=100), args.calls)
    for _ in range(100):
        rate_limit_hit(key="full", per_minute=100)
    refused = _timed(lambda _: rate_limit_hit(key="full", per_minute=100), args.calls)
    figures["limiter_allowed"] = _summary(allowed)
    figures["limiter_refused"] = _summary(refused)

    plan = Plan.objects.create(slug="bench", name="Bench", requests_per_minute=10**6)
    clients = []
    for on_plan in (None, plan):
        app = accounts_services.app_create(name="bench", plan=on_plan)
        clients.append(Client(HTTP_AUTHORIZATION=f"Bearer {accounts_services.api_key_create(app=app).raw_key}"))
    plain, counted = [], []
    cpu = [0.0, 0.0]
    for index in range(args.gets + 50):  # the two apps alternate, so both see the same load on the machine
        for side, (client_, samples) in enumerate(zip(clients, (plain, counted), strict=True)):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client_.get("/v1/characters")
            if index >= 50:  # after a warm-up
                samples.append((time.perf_counter() - started) * 1e6)
                cpu[side] += time.process_time() - started_cpu
    assert response["X-RateLimit-Limit"] == str(10**6), response.headers
    figures["get_without_plan"] = _summary(plain)
    figures["get_with_plan"] = _summary(counted)
    figures["get_cpu_us"] = {
        "without_plan": round(cpu[0] / args.gets * 1e6, 1),
        "with_plan": round(cpu[1] / args.gets * 1e6, 1),
    }
    figures["limiter_adds_to_a_get_us"] = round(
        figures["get_with_plan"]["median_us"] - figures["get_without_plan"]["median_us"], 1
    )

    for name, value in figures.items():
        print(f"{name:28} {value}")
    figures_write("rate_limits", figures)
    client.delete(*client.keys(f"bench-rate-{run}*") or ["-"])


if __name__ == "__main__":
    main()
