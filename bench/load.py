"""Load test (reliability test plan item 32): simulated end-users against the production stack, with targets.

Usage (``make load`` runs the first form)::

    .venv/bin/python bench/load.py                      # 200 users, 60 s ramp-up, 600 s in all
    .venv/bin/python bench/load.py --quick              # 40 users for 30 s: a smoke run, not figures
    .venv/bin/python bench/load.py --users 100 --duration 120 --stub-latency 1.5 --think 1 5

The stack is the chaos suite's ``ChaosStack`` (tests/chaos/harness.py) with the ``Procfile``'s defaults: its
``web`` line with 2 uvicorn processes, 2 Celery workers of 16 threads from its ``worker`` line, one ``beat``,
a fresh migrated PostgreSQL database on ``DATABASE_URL``'s server (default 127.0.0.1:5432), Redis db
``--redis-db`` (its Celery queues emptied first) and the harness's ``LLMStub`` answering every chat completion
after a fixed ``--stub-latency`` (1.5 s). The timings the chaos suite shortens (run lease, recovery and
sweep intervals, broker visibility timeout) are put back to their production defaults (``PRODUCTION_TIMINGS``).
All on 127.0.0.1; the processes are killed and the database dropped at the end.

Each simulated user is one end-user of one app with a session of its own. After a think time drawn uniformly
from ``--think`` (1-5 s) it does one action, chosen by weight:

- 70% poll: ``GET /v1/sessions/{id}/events?since=<cursor>``, moving its cursor on;
- 20% post: ``POST /v1/sessions/{id}/messages``, then poll every ``--follow-interval`` (0.5 s) from the
  accepted cursor until the character's ``message.created`` of that run arrives (``run.failed`` or
  ``--reply-timeout`` is a failed reply). Post-to-reply runs from just before the POST to the poll answer
  carrying the reply, so it includes up to one follow interval of polling delay;
- 10% new session: ``POST /v1/sessions`` (same end-user, same character), which the user then continues in.

Users start evenly over ``--ramp`` seconds, and the figures cover the whole run, ramp included. With the
defaults a user acts every ~3.4 s (3 s of thinking, plus ~2 s of following in one action of five): 200 users
offer ~59 actions/s, i.e. ~12 messages/s (so ~18 model calls in flight of the workers' 32 threads), ~6
session creations/s and ~41 polls/s, plus ~4 follow-up polls per message (~47/s): about 106 requests/s. The
poll row counts both kinds of poll; the printed rates are what the run really produced. A reply is seen at
the first follow-up poll after it was written, so with the 1.5 s stub the post-to-reply p50 is ~2.0 s.

At the end: the time until the queue is empty (the broker's Redis lists plus runs still queued or running;
target <= 60 s after the load stops), and the peak number of PostgreSQL connections (``pg_stat_activity``
sampled every second: the stack's database and the whole server, against ``max_connections``). The table
prints every figure against its target; the exit status is 1 when one is missed. Figures also go to
``var/bench/load.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import signal
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
# The harness reads the project's settings (BASE_DIR) on import; this process never sets Django up otherwise.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "load-test-only-not-secret")

from turns import PG_ADMIN_URL, TEXT, figures_write, pct  # noqa: E402  (the turn benchmark's helpers)

from tests.chaos.harness import ChaosStack, procfile_line  # noqa: E402
from tests.chaos.llm_stub import LLMStub  # noqa: E402

WEIGHTS = {"poll": 70, "post": 20, "session": 10}
QUEUES = ("dramatis", "images")  # the worker's -Q; kombu keeps each priority level in a list of its own
PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=10)
CHARACTER = "bench-hero"
# What the Procfile runs by default, and the production values of the timings CHAOS_ENV shortens (short ones
# would add sweeps to the load, and redeliver messages that wait longer than a few seconds in a backlog).
WEB_CONCURRENCY, WORKERS, WORKER_CONCURRENCY, BEATS = 2, 2, 16, 1
PRODUCTION_TIMINGS = {
    "RUN_LEASE_SECONDS": "90",
    "RUNS_RECOVER_INTERVAL_SECONDS": "15",
    "CELERY_VISIBILITY_TIMEOUT_SECONDS": "3600",
    "CELERY_UNACKED_RESTORE_SECONDS": "10",
    "WEBHOOK_SWEEP_INTERVAL_SECONDS": "2",
    "PROACTIVE_SCAN_INTERVAL_SECONDS": "30",
}
TARGETS = {  # the pass criteria (p95 in ms)
    "errors_pct_below": 0.1,
    "post_p95_ms_below": 200.0,
    "poll_p95_ms_below": 100.0,
    "reply_p95_ms_below": 3500.0,
    "drain_seconds_at_most": 60.0,
}


@dataclass
class Operation:
    latencies: list[float] = field(default_factory=list)
    errors: collections.Counter = field(default_factory=collections.Counter)  # status (or kind of failure) -> n

    def record(self, started: float, status: int | str, ok: bool) -> None:
        if ok:
            self.latencies.append(time.perf_counter() - started)
        else:
            self.errors[status] += 1

    def figures(self, seconds: float) -> dict:
        done = len(self.latencies) + sum(self.errors.values())
        ms = {f"p{q}_ms": round(pct(self.latencies, q) * 1000, 1) if self.latencies else None for q in (50, 95, 99)}
        return {
            "requests": done,
            "per_second": round(done / seconds, 1) if seconds else None,
            "errors": sum(self.errors.values()),
            "errors_by_status": {str(key): value for key, value in self.errors.items()},
            **ms,
        }


@dataclass
class Load:
    base: str
    headers: dict
    args: argparse.Namespace
    deadline: float
    tag: str
    ops: dict[str, Operation] = field(default_factory=lambda: {k: Operation() for k in ("post", "poll", "session")})
    reply: Operation = field(default_factory=Operation)
    actions: collections.Counter = field(default_factory=collections.Counter)

    async def request(self, http, op: str, method: str, url: str, body: dict | None = None) -> dict | None:
        """One request, timed and counted under ``op``; its JSON ``data`` when it succeeded."""
        started = time.perf_counter()
        try:
            async with http.request(method, url, json=body, headers=self.headers, timeout=REQUEST_TIMEOUT) as resp:
                payload = await resp.json(content_type=None)
                status = resp.status
        except TimeoutError:
            self.ops[op].record(started, "timeout", False)
            return None
        except (aiohttp.ClientError, ValueError):
            self.ops[op].record(started, "connection", False)
            return None
        ok = 200 <= status < 300 and isinstance(payload, dict) and "data" in payload
        self.ops[op].record(started, status, ok)
        return payload["data"] if ok else None

    async def session_new(self, http, user: int) -> tuple[str, int] | None:
        body = {"character": CHARACTER, "external_user_ref": f"load-{self.tag}-{user}", "proactive_enabled": False}
        data = await self.request(http, "session", "POST", f"{self.base}/v1/sessions", body)
        return (data["session_id"], 0) if data else None

    async def poll(self, http, session_id: str, cursor: int) -> tuple[int, list[dict]]:
        url = f"{self.base}/v1/sessions/{session_id}/events?since={cursor}"
        data = await self.request(http, "poll", "GET", url)
        return (data["next_cursor"], data["events"]) if data else (cursor, [])

    async def post_and_follow(self, http, session_id: str, cursor: int) -> int:
        """Send a message and poll until its reply: the post-to-reply time. Returns the user's new cursor."""
        started = time.perf_counter()
        accepted = await self.request(
            http, "post", "POST", f"{self.base}/v1/sessions/{session_id}/messages", {"text": TEXT}
        )
        if accepted is None:
            return cursor
        run_ref, cursor = accepted["run_ref"], accepted["cursor"]
        give_up = started + self.args.reply_timeout
        while time.perf_counter() < give_up:
            await asyncio.sleep(self.args.follow_interval)
            cursor, events = await self.poll(http, session_id, cursor)
            for event in events:
                if event["run_ref"] != run_ref:
                    continue
                if event["event_type"] == "message.created" and event["role"] == "character":
                    self.reply.record(started, 200, True)
                    return cursor
                if event["event_type"] == "run.failed":
                    self.reply.record(started, "run.failed", False)
                    return cursor
        self.reply.record(started, "no reply", False)
        return cursor

    async def user(self, http, index: int, start_at: float) -> None:
        rng = random.Random(f"{self.tag}-{index}")
        await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
        current = await self.session_new(http, index)
        names, weights = list(WEIGHTS), list(WEIGHTS.values())
        while time.perf_counter() < self.deadline:
            await asyncio.sleep(rng.uniform(*self.args.think))
            if time.perf_counter() >= self.deadline:
                break
            action = rng.choices(names, weights)[0] if current else "session"
            self.actions[action] += 1
            if action == "session":
                current = await self.session_new(http, index) or current
            elif action == "poll":
                current = (current[0], (await self.poll(http, *current))[0])
            else:
                current = (current[0], await self.post_and_follow(http, *current))


# --- what the servers hold ---------------------------------------------------------------------------------


async def queue_depth(redis_client, database_url: str) -> dict:
    """Messages waiting in the broker's lists and runs not finished yet."""
    import psycopg

    broker = 0
    for queue in QUEUES:
        for suffix in PRIORITY_SUFFIXES:
            broker += await redis_client.llen(queue + suffix)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        cur = await conn.execute("SELECT count(*) FROM conversations_run WHERE status IN ('queued', 'running')")
        runs = (await cur.fetchone())[0]
    return {"broker": broker, "runs": runs, "total": broker + runs}


async def connections_sample(database_url: str, stop: asyncio.Event, peaks: dict) -> None:
    """Every second: connections to the stack's database and to the whole server (from the server's ``postgres``
    database, so this sampler's own connection is not one of the stack's)."""
    import psycopg

    parts = urllib.parse.urlsplit(database_url)
    database, admin_url = parts.path.lstrip("/"), parts._replace(path="/postgres").geturl()
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
        cur = await conn.execute("SHOW max_connections")
        peaks["max_connections"] = int((await cur.fetchone())[0])
        while not stop.is_set():
            cur = await conn.execute(
                "SELECT count(*) FILTER (WHERE datname = %s), count(*) FROM pg_stat_activity "
                "WHERE backend_type = 'client backend'",
                [database],
            )
            ours, server = await cur.fetchone()
            peaks["stack"] = max(peaks.get("stack", 0), ours)
            peaks["server"] = max(peaks.get("server", 0), server)
            peaks["samples"] = peaks.get("samples", 0) + 1
            await asyncio.sleep(1.0)


async def queue_drain(redis_client, database_url: str, since: float, timeout: float) -> dict:
    """Sample the queue from the end of the load until it is empty: seconds to 0 (None: not within timeout)."""
    peak = 0
    while True:
        depth = await queue_depth(redis_client, database_url)
        peak = max(peak, depth["total"])
        elapsed = time.perf_counter() - since
        if depth["total"] == 0:
            return {"seconds_to_zero": round(elapsed, 1), "depth_at_end_peak": peak}
        if elapsed > timeout:
            return {"seconds_to_zero": None, "depth_at_end_peak": peak, "left": depth}
        await asyncio.sleep(0.5)


# --- the run ------------------------------------------------------------------------------------------------


async def load_run(args, stack: ChaosStack) -> dict:
    import redis.asyncio as aioredis

    headers = {"Authorization": f"Bearer {stack.key}"}
    redis_client = aioredis.Redis.from_url(stack.redis_url)
    connector = aiohttp.TCPConnector(limit=0)
    peaks: dict = {}
    stop_sampling = asyncio.Event()
    async with aiohttp.ClientSession(connector=connector) as http:
        sampler = asyncio.create_task(connections_sample(stack.database_url, stop_sampling, peaks))
        start = time.perf_counter()
        load = Load(stack.base_url, headers, args, start + args.duration, f"{int(time.time())}")
        ramp = min(args.ramp, args.duration)
        users = [
            asyncio.create_task(load.user(http, index, start + ramp * index / args.users))
            for index in range(args.users)
        ]
        await asyncio.sleep(max(0.0, load.deadline - time.perf_counter()))
        ended = time.perf_counter()
        drain = asyncio.create_task(queue_drain(redis_client, stack.database_url, ended, args.drain_timeout))
        await asyncio.gather(*users)  # the users' last actions finish (a reply being followed is waited for)
        elapsed = time.perf_counter() - start
        drained = await drain
        stop_sampling.set()
        await sampler
    await redis_client.aclose()
    figures = {name: op.figures(elapsed) for name, op in load.ops.items()}
    figures["reply"] = load.reply.figures(elapsed)
    requests = sum(figures[name]["requests"] for name in load.ops)
    errors = sum(figures[name]["errors"] for name in load.ops)
    return {
        "seconds": round(elapsed, 1),
        "operations": figures,
        "requests": requests,
        "errors": errors,
        "errors_pct": round(100 * errors / requests, 3) if requests else None,
        "actions": dict(load.actions),
        "drain": drained,
        "connections": peaks,
    }


# --- reporting ----------------------------------------------------------------------------------------------


def hardware() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?")
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    kib = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:")), 0)
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": model, "ram_gib": round(kib / 1024**2, 1)}


def checks_of(results: dict) -> dict[str, bool]:
    ops, drain, conns = results["operations"], results["drain"], results["connections"]

    def below(op: str, target: str) -> bool:
        return ops[op]["p95_ms"] is not None and ops[op]["p95_ms"] < TARGETS[target]

    def few_errors(fig: dict) -> bool:
        return bool(fig["requests"]) and fig["errors"] < fig["requests"] * TARGETS["errors_pct_below"] / 100

    return {
        "errors": few_errors({"requests": results["requests"], "errors": results["errors"]}),
        "post": below("post", "post_p95_ms_below"),
        "poll": below("poll", "poll_p95_ms_below"),
        # A message whose reply never came (run.failed, or none within --reply-timeout) is an error of its own.
        "reply": below("reply", "reply_p95_ms_below") and few_errors(ops["reply"]),
        "drain": drain["seconds_to_zero"] is not None and drain["seconds_to_zero"] <= TARGETS["drain_seconds_at_most"],
        "connections": conns.get("server", 0) < conns.get("max_connections", 0),
    }


def report(args, results: dict, layout: dict) -> dict[str, bool]:
    ops, checks = results["operations"], checks_of(results)
    verdict = {True: "PASS", False: "FAIL"}
    print(
        f"\nhardware: {layout['hardware']['nproc']} CPUs ({layout['hardware']['cpu']}), "
        f"{layout['hardware']['ram_gib']} GiB RAM"
    )
    print(f"processes: web {layout['web']}; workers {layout['workers']}; beat {layout['beat']}")
    print(
        f"LLM stub: {args.stub_latency} s per chat completion; {args.users} users, {args.ramp:g} s ramp-up, "
        f"{args.duration:g} s, think {args.think[0]:g}-{args.think[1]:g} s; actions {results['actions']}"
    )
    print(
        f"\n{'operation':<20} {'requests':>9} {'req/s':>7} {'errors':>12} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8}  {'target':<18} result"
    )
    rows = (
        ("POST message", "post", "p95 < 200 ms"),
        ("poll events", "poll", "p95 < 100 ms"),
        ("create session", "session", ""),
        ("post-to-reply", "reply", "p95 < 3500 ms, 0.1%"),
    )
    for label, key, target in rows:
        fig = ops[key]
        share = f"{fig['errors']} ({100 * fig['errors'] / fig['requests']:.2f}%)" if fig["requests"] else "0"
        print(
            f"{label:<20} {fig['requests']:>9} {fig['per_second'] or 0:>7} {share:>12} {fig['p50_ms'] or '-':>8} "
            f"{fig['p95_ms'] or '-':>8} {fig['p99_ms'] or '-':>8}  {target:<18} "
            f"{verdict[checks[key]] if key in checks else ''}"
        )
    by_status = collections.Counter()
    for key in ("post", "poll", "session", "reply"):
        by_status.update(ops[key]["errors_by_status"])
    print(
        f"{'all requests':<20} {results['requests']:>9} {'':>7} {results['errors']:>5} ({results['errors_pct']}%)"
        f"{'':>27}  {'errors < 0.1%':<18} {verdict[checks['errors']]}"
    )
    if by_status:
        print("errors by status: " + ", ".join(f"{status} x{count}" for status, count in sorted(by_status.items())))
    drain, conns = results["drain"], results["connections"]
    print(
        f"queue (broker lists + unfinished runs) empty {drain['seconds_to_zero']} s after the load stopped "
        f"(peak {drain['depth_at_end_peak']} at the end; target <= 60 s): {verdict[checks['drain']]}"
    )
    print(
        f"PostgreSQL connections, peak: {conns.get('stack')} to the stack's database, {conns.get('server')} on the "
        f"server of max_connections {conns.get('max_connections')}: {verdict[checks['connections']]}"
    )
    return checks


def layout_of(args) -> dict:
    return {
        "hardware": hardware(),
        "web": f"`{procfile_line('web')}` with WEB_CONCURRENCY={WEB_CONCURRENCY}",
        "workers": f"{WORKERS} x `{procfile_line('worker')}` with WORKER_CONCURRENCY={WORKER_CONCURRENCY}",
        "beat": f"{BEATS} x `{procfile_line('beat')}`",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load, ramp-up included")
    parser.add_argument("--ramp", type=float, default=60.0, help="seconds over which the users start")
    parser.add_argument("--stub-latency", type=float, default=1.5, help="the LLM stub's seconds per completion")
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(1.0, 5.0),
        metavar=("MIN", "MAX"),
        help="a user's think time before each action, uniform in [MIN, MAX] seconds",
    )
    parser.add_argument("--follow-interval", type=float, default=0.5, help="polling while a reply is awaited")
    parser.add_argument("--reply-timeout", type=float, default=30.0)
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--redis-db", type=int, default=11, help="Redis db of the stack (its queues are emptied)")
    parser.add_argument("--quick", action="store_true", help="40 users for 30 s (10 s ramp): a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.users, args.duration, args.ramp = 40, 30.0, 10.0
    args.think = tuple(args.think)
    # The stack's database is made on this server (its path is replaced by a fresh database's name).
    os.environ.setdefault("DATABASE_URL", PG_ADMIN_URL)
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the stack is stopped on a plain kill too
    with (
        LLMStub(latency=args.stub_latency) as llm,
        ChaosStack(
            llm=llm, workers=WORKERS, beats=BEATS, web_concurrency=WEB_CONCURRENCY,
            worker_concurrency=WORKER_CONCURRENCY, redis_url=redis_url, env=PRODUCTION_TIMINGS, app_name="load",
        ) as stack,
    ):  # fmt: skip
        stack.provision(sessions=0, character=CHARACTER)
        layout = layout_of(args)
        results = asyncio.run(load_run(args, stack))
    checks = report(args, results, layout)
    figures_write("load", args=args, results={**results, "layout": layout}, targets=checks)
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
