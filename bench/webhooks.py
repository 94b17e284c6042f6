"""Webhook delivery benchmark: commit -> arrival latency at a steady rate, and deliveries/s at saturation.

Usage::

    .venv/bin/python bench/webhooks.py                 # start everything, run all phases (about 1 minute)
    .venv/bin/python bench/webhooks.py --quick         # shorter phases
    .venv/bin/python bench/webhooks.py --help          # every knob

What runs (127.0.0.1 only; every process is stopped by its process group at exit, also on Ctrl-C):

- the production path: Celery ``worker`` processes and ``beat`` exactly as the ``Procfile`` names them, on
  PostgreSQL (database ``dramatis_bench_webhooks``, dropped and re-created) and Redis (``--redis-db``,
  flushed); this process is the producer, appending events through the real pipeline service
  (``conversations.services.events_append``), so delivery rows are written in the append's transaction by
  ``WebhookSink`` and handed to the workers after commit, as when a web or worker process appends;
- a receiver in its own process (``tests/fakes/webhook_receiver.py``: aiohttp, verifies both signatures of
  every request with HMAC and the ``standardwebhooks`` library), registered as an app-level endpoint.

Phases and what each figure means:

(a) steady rate: ``--rate`` events/s (default 100) for ``--seconds``, open loop, one event per transaction,
    round-robin over ``--sessions`` sessions. Latency = the receiver's arrival time minus the event's
    ``created_at`` (stamped inside the appending transaction just before it commits, so this slightly
    over-counts). Printed: deliveries/s received, p50/p99/max latency (target p99 < 250 ms).
(b) saturation: ``--burst`` events appended as fast as one producer can (10 per transaction); deliveries/s
    is the count divided by the time from the first commit to the last arrival.
(c) clients (``--phases c``): signed POSTs/s from one process to the same receiver with aiohttp (one event
    loop, 64 in flight, as the sender uses it), urllib3 (16 threads sharing a pool) and httpx (16 threads),
    to show why the sender uses aiohttp.

Every phase also checks that each event arrived with both signatures valid; duplicates are counted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUT_DIR = ROOT / "var" / "bench"
SECRET = "bench-signing-secret-0123456789"
sys.path.insert(0, str(ROOT))


# --- the receiver, in its own process --------------------------------------------------------------------
def _receiver_main(port_queue, stop_event, result_queue) -> None:
    from tests.fakes.webhook_receiver import WebhookReceiver

    receiver = WebhookReceiver(secret=SECRET).start()
    port_queue.put(receiver.port)
    stop_event.wait()
    with receiver._lock:
        rows = [(item.event_id, item.arrived_at, item.legacy_signature_ok and item.standard_signature_ok)
                for item in receiver.received]  # fmt: skip
    result_queue.put(rows)
    receiver.stop()


class Receiver:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.port_queue, self.result_queue, self.stop_event = ctx.Queue(), ctx.Queue(), ctx.Event()
        self.process = ctx.Process(target=_receiver_main, args=(self.port_queue, self.stop_event, self.result_queue))
        self.process.start()
        self.port = self.port_queue.get(timeout=30)
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def collect(self) -> list[tuple[str, float, bool]]:
        self.stop_event.set()
        rows = self.result_queue.get(timeout=60)
        self.process.join(timeout=10)
        return rows


# --- processes --------------------------------------------------------------------------------------------
class Stack:
    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []
        (OUT_DIR / "logs").mkdir(parents=True, exist_ok=True)

    def start(self, name: str, cmd: str, env: dict[str, str]) -> None:
        log = open(OUT_DIR / "logs" / f"webhooks-{name}.log", "w")  # noqa: SIM115  (closed with the process)
        proc = subprocess.Popen(
            ["bash", "-c", f"exec {cmd}"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.procs.append((name, proc))

    def check(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see var/bench/logs/webhooks-{name}.log")

    def stop(self) -> None:
        for _, proc in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 8
        for _, proc in reversed(self.procs):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"The Procfile has no '{name}' process")


def database_recreate(name: str) -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


# --- measuring --------------------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))]


def produce(session_ids: list[str], *, count: int, rate: float | None, per_commit: int = 1) -> dict[str, float]:
    """Append ``count`` events (``rate`` per second, or as fast as possible); return event_id -> created_at."""
    from django.db import transaction

    from apps.conversations import services

    created: dict[str, float] = {}
    started = time.perf_counter()
    index = 0
    while index < count:
        if rate:
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        session_id = session_ids[index % len(session_ids)]
        batch = min(per_commit, count - index)
        with transaction.atomic():
            rows = services.events_append(
                session_id=session_id,
                events=[services.NewEvent("bench.tick", {"n": index + offset}) for offset in range(batch)],
            )
        for row in rows:
            created[row.as_public_dict()["event_id"]] = row.created_at.timestamp()
        index += batch
    return created


def report(name: str, created: dict[str, float], arrivals: list[tuple[str, float, bool]]) -> dict:
    first: dict[str, float] = {}
    duplicates = bad = 0
    for event_id, arrived_at, verified in arrivals:
        if event_id not in created:
            continue
        bad += not verified
        if event_id in first:
            duplicates += 1
            continue
        first[event_id] = arrived_at
    latencies = [first[event_id] - created[event_id] for event_id in first]
    span = max(first.values()) - min(created.values()) if first else 0.0
    result = {
        "events": len(created),
        "delivered": len(first),
        "missing": len(created) - len(first),
        "duplicates": duplicates,
        "bad_signatures": bad,
        "deliveries_per_s": round(len(first) / span, 1) if span else None,
        "p50_ms": round(pct(latencies, 50) * 1000, 1) if latencies else None,
        "p99_ms": round(pct(latencies, 99) * 1000, 1) if latencies else None,
        "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
    }
    print(f"{name}: " + "  ".join(f"{key}={value}" for key, value in result.items()), flush=True)
    return result


def wait_all(created: dict[str, float], timeout: float) -> None:
    from apps.delivery.models import WebhookDelivery

    deadline = time.monotonic() + timeout
    while WebhookDelivery.objects.filter(event_id__in=list(created)).exclude(status="delivered").exists():
        if time.monotonic() > deadline:
            print(f"  (not every delivery succeeded within {timeout:.0f} s)")
            return
        time.sleep(0.2)


# --- (c) HTTP clients -------------------------------------------------------------------------------------
def clients_compare(url: str, count: int) -> dict:
    from apps.delivery.webhooks.signing import signature_headers

    body = json.dumps({"event": {"event_id": "evt_bench", "payload": {"text": "x" * 200}}}).encode()

    def headers(n: int) -> dict[str, str]:
        signed = signature_headers(secret=SECRET, message_id=f"client_{n}", timestamp=int(time.time()), body=body)
        return {**signed, "Content-Type": "application/json"}

    results = {}

    import asyncio

    import aiohttp

    async def with_aiohttp() -> None:
        limit = asyncio.Semaphore(64)
        async with aiohttp.ClientSession() as http:

            async def one(n: int) -> None:
                async with limit, http.post(url, data=body, headers=headers(n)) as response:
                    await response.read()

            await asyncio.gather(*(one(n) for n in range(count)))

    started = time.perf_counter()
    asyncio.run(with_aiohttp())
    results["aiohttp"] = round(count / (time.perf_counter() - started))

    def threaded(send_one) -> float:
        counter = iter(range(count))
        lock = threading.Lock()

        def worker() -> None:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                send_one(n)

        started = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return round(count / (time.perf_counter() - started))

    import urllib3

    pool = urllib3.PoolManager(maxsize=16)
    results["urllib3 (16 threads)"] = threaded(lambda n: pool.request("POST", url, body=body, headers=headers(n)))
    try:
        import httpx
    except ImportError:
        httpx = None
    if httpx is not None:
        client = httpx.Client(limits=httpx.Limits(max_connections=16))
        results["httpx (16 threads)"] = threaded(lambda n: client.post(url, content=body, headers=headers(n)))
    print("clients (signed POSTs/s from one process): " + "  ".join(f"{k}={v}" for k, v in results.items()))
    return results


# --- main -------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="events/s offered in phase (a)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of phase (a)")
    parser.add_argument("--burst", type=int, default=5000, help="events appended in phase (b)")
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes (Procfile 'worker')")
    parser.add_argument("--phases", default="abc")
    parser.add_argument("--database", default="dramatis_bench_webhooks")
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--quick", action="store_true", help="10 s at the rate, 2,000 in the burst")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.burst = 10.0, 2000

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "WEBHOOK_"))}
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
            "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
            "DJANGO_SECRET_KEY": "bench-only-not-secret",
            "DJANGO_DEBUG": "0",
            "DRAMATIS_VAR_DIR": str(OUT_DIR / "var"),
            "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "LOG_LEVEL": "WARNING",
        }
    )
    database_recreate(args.database)
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from apps.accounts import services as accounts_services
    from apps.characters.tests.factories import character_publish
    from apps.conversations import services as conversation_services
    from apps.delivery import services as delivery_services

    stack = Stack()
    receiver = Receiver()
    results: dict = {}
    try:
        if "c" in args.phases:
            results["clients"] = clients_compare(receiver.url, 3000 if args.quick else 10000)
        if {"a", "b"} & set(args.phases):
            for index in range(args.workers):
                stack.start(f"worker{index}", f"{procfile_command('worker')} -n bench{index}@%h", env)
            stack.start("beat", f"{procfile_command('beat')} -s {OUT_DIR / 'webhooks-beat-schedule'}", env)
            app = accounts_services.app_create(name="bench webhooks")
            character_publish(app, slug="bench", display_name="Bench")
            sessions = [
                conversation_services.session_create(app=app, character_slug="bench", external_user_ref=f"u{n}").id
                for n in range(args.sessions)
            ]
            delivery_services.webhook_endpoint_create(app=app, url=receiver.url, secret=SECRET)
            produce(sessions, count=50, rate=50)  # warm-up: workers connected, pools open
            time.sleep(3)
            stack.check()
            created_a: dict[str, float] = {}
            created_b: dict[str, float] = {}
            if "a" in args.phases:
                created_a = produce(sessions, count=int(args.rate * args.seconds), rate=args.rate)
                wait_all(created_a, 60)
            if "b" in args.phases:
                created_b = produce(sessions, count=args.burst, rate=None, per_commit=10)
                wait_all(created_b, 120)
            stack.check()
            arrivals = receiver.collect()
            if created_a:
                results["a"] = report(f"(a) {args.rate:g} events/s offered for {args.seconds:g} s", created_a, arrivals)
            if created_b:
                results["b"] = report(f"(b) burst of {args.burst} events", created_b, arrivals)
        else:
            receiver.collect()
    finally:
        stack.stop()
        if receiver.process.is_alive():
            receiver.process.kill()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "webhooks.json").write_text(json.dumps({"args": vars(args), "results": results}, indent=2))


if __name__ == "__main__":
    main()
