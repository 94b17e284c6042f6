"""Turn benchmark: the production stack under load, against a bare Django+DRF insert view.

Usage (``make bench`` runs the first form)::

    .venv/bin/python bench/turns.py                        # start everything, run the three phases
    .venv/bin/python bench/turns.py --quick                # shorter phases (a smoke run, noisier figures)
    .venv/bin/python bench/turns.py --target http://127.0.0.1:8000 --api-key drm_...   # an already running stack

Without ``--target`` the script starts, on 127.0.0.1 only, and stops again by process group (also on Ctrl-C):

- the web and worker processes exactly as the ``Procfile`` names them (its ``web`` line, or ``--web``;
  two Celery worker processes from its ``worker`` line), from this checkout or from ``--tree PATH`` (another
  checkout, e.g. bench/compare.py's worktree of a base commit: its Procfile, ``manage.py`` and code, with
  this venv and PATH first on ``PYTHONPATH``),
- PostgreSQL (127.0.0.1:5432, user postgres) with its own freshly migrated database ``dramatis_bench``,
  Redis (127.0.0.1:6379) on its own db number (``--redis-db``, flushed first),
- an OpenAI-compatible fake LLM that answers at once (``tests/fakes/openai_server.py`` when present,
  else ``bench/fake_llm.py``), so what is measured is everything in a turn except the model,
- the bare reference (``bench/bare/``): a Django+DRF view that inserts one row, on the same Postgres server
  (database ``dramatis_bench_bare``), as in specs/perf-limits.md section 2, served by the web line itself
  with the bare application swapped in (``bare_command``): same server, same workers, same flags.

The load generator is this process (aiohttp, one event loop), separate from every server process.
Server logs go to ``var/bench/logs/``; the figures are printed and written to ``var/bench/turns.json``.

Phases and what each figure means:

(a) POST throughput, closed loop at concurrency 32 for ``--post-seconds`` after a warm-up, first the bare
    view (``POST /messages``), then ours (``POST /v1/sessions/{id}/messages`` over 64 sessions) twice: with
    the workers answering the turns meanwhile (all on the same 2 cores), and with the worker processes
    paused (SIGSTOP; the queued turns are answered afterwards), which is the POST path alone like the bare
    view. ``req/s`` is 2xx responses per second, ``p50``/``p99`` the per-request latency; ``ratio`` and
    ``ratio_post_only`` are ours / bare req/s. The target (>= 0.6) is checked on ``ratio_post_only``; both
    are printed and written.
(b) Reply latency at an offered ``--rate`` turns/s (default 50): open loop, one POST every 1/rate seconds
    spread round-robin over ``--latency-sessions`` sessions, each with an SSE stream
    (``GET /v1/sessions/{id}/events/stream``) opened before sending. Reply latency is from just before the
    POST is sent to the arrival over SSE of the ``message.created`` (role character) event of that run
    (targets p50 <= 30 ms, p99 <= 150 ms). The POST latency in this phase is printed too.
(c) Max end-to-end turns/s: closed loop over ``--closed-sessions`` sessions, each sending its next message
    as soon as the previous reply arrived over SSE; ``turns/s`` is replies received per second, with the
    reply latency under that saturation. ``ratio_to_bare`` is turns/s over the bare view's req/s of (a) in
    the same run (target >= 0.45).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUT_DIR = ROOT / "var" / "bench"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
TEXT = "Hello there, how was your day? I wanted to tell you about the trip I am planning for next spring."
BARE_BODY = {"session_id": 42, "role": "user", "content": TEXT}


# --- processes --------------------------------------------------------------------------------------------


class Stack:
    """Child processes, each in its own process group, stopped by PID (group) at exit."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []
        (OUT_DIR / "logs").mkdir(parents=True, exist_ok=True)

    def start(self, name: str, cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> subprocess.Popen:
        log = open(OUT_DIR / "logs" / f"{name}.log", "w")  # noqa: SIM115  (closed with the process)
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def check(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see var/bench/logs/{name}.log")

    def workers(self) -> list[subprocess.Popen]:
        return [proc for name, proc in self.procs if name.startswith("worker")]

    def signal(self, procs: list[subprocess.Popen], signum: int) -> None:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signum)

    def stop(self) -> None:
        for _, proc in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGCONT)  # in case it was paused
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 8
        for _, proc in reversed(self.procs):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # stragglers, e.g. prefork children
        self.procs.clear()


def with_stack(run: Callable[[Stack], None]) -> None:
    """``run(stack)``, then stop every process it started in ``stack``: also on Ctrl-C and on SIGTERM."""
    stack = Stack()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        run(stack)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the stack", file=sys.stderr)
    finally:
        stack.stop()


def cpu_by_process(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far by each of the stack's processes (with their children: uvicorn's workers),
    PostgreSQL's and Redis's server processes, and this load generator; from /proc (Linux)."""
    clock = os.sysconf("SC_CLK_TCK")
    groups = {proc.pid: name for name, proc in stack.procs}
    totals: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        pgid, used = int(fields[2]), (int(fields[11]) + int(fields[12])) / clock
        if pgid in groups:
            name = groups[pgid].rstrip("0123456789") if groups[pgid].startswith("worker") else groups[pgid]
        elif comm.startswith("postgres"):
            name = "postgres"
        elif comm.startswith("redis-server"):
            name = "redis"
        elif int(entry.name) == os.getpid():
            name = "load generator"
        else:
            continue
        totals[name] = totals.get(name, 0.0) + used
    return totals


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def procfile_command(name: str, tree: Path = ROOT) -> str:
    """The ``name`` line of ``tree``'s Procfile, bound to loopback only."""
    for line in (tree / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip().replace("0.0.0.0", "127.0.0.1")
    raise RuntimeError(f"{tree / 'Procfile'} has no '{name}' process")


def bare_command(web: str) -> str:
    """The web line with the project's application swapped for the bare reference's: same server, same flags.

    The bare view is only a fair yardstick when it runs under exactly what serves our API (server, worker
    count, event loop, HTTP parser), so it is derived from the web line instead of being configured apart.
    """
    swapped = web.replace("config.asgi:application", "bare.asgi:application").replace("config.wsgi", "bare.wsgi")
    if swapped == web:
        raise RuntimeError(f"cannot find config.asgi:application or config.wsgi in the web line: {web}")
    return swapped


def database_recreate(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def run_checked(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


async def wait_http(url: str, stack: Stack, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            stack.check()
            try:
                async with http.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up in {timeout} s")
            await asyncio.sleep(0.2)


@dataclass
class Targets:
    base: str
    bare: str | None
    api_key: str
    database_url: str | None = None
    served_from: str | None = None  # the apps package the stack imports (checked before starting it)
    web: str | None = None  # the command serving our API, and (with the bare app swapped in) the bare view


def stack_start(args, stack: Stack) -> Targets:
    """Start the fake LLM, the bare reference and (unless --target) the production stack; return their URLs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "LLM_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONPATH", None)
    tree = Path(args.tree).resolve()
    web = args.web or procfile_command("web", tree)
    bare_url = None
    if not args.no_bare:
        bare_db = "dramatis_bench_bare"
        database_recreate(bare_db)
        bare_env = {**env, "BARE_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{bare_db}"}
        run_checked([sys.executable, "manage.py", "migrate", "-v0"], bare_env, ROOT / "bench" / "bare")
        port = free_port()
        bare_env["PORT"] = str(port)
        stack.start("bare", ["bash", "-c", f"exec {bare_command(web)}"], bare_env, ROOT / "bench" / "bare")
        bare_url = f"http://127.0.0.1:{port}"
    if args.target:
        return Targets(args.target.rstrip("/"), bare_url, args.api_key or os.environ.get("BENCH_API_KEY", ""), web=web)

    # ``args.llm == "scripted"`` (bench/npc.py): no LLM_* settings, so the offline provider answers in-process.
    offline = getattr(args, "llm", "fake") == "scripted"
    llm_port = free_port()
    if (ROOT / "tests" / "fakes" / "openai_server.py").exists():
        llm_cmd = [sys.executable, "-m", "tests.fakes.openai_server", "--port", str(llm_port), "--mode", "instant"]
    else:
        llm_cmd = [sys.executable, str(ROOT / "bench" / "fake_llm.py"), "--port", str(llm_port)]
    if not offline:
        stack.start("llm", llm_cmd, env)

    database_url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    database_recreate(args.database)
    import redis

    redis.Redis.from_url(f"redis://127.0.0.1:6379/{args.redis_db}").flushdb()
    web_port = free_port()
    app_env = {
        **env,
        "DATABASE_URL": database_url,
        "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "DJANGO_SECRET_KEY": "bench-only-not-secret",
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DRAMATIS_VAR_DIR": str(OUT_DIR / "var"),
        "LLM_BASE_URL": f"http://127.0.0.1:{llm_port}/v1",
        "LLM_API_KEY": "bench",
        "LLM_CHAT_MODEL": "bench-model",
        # Emotion is on in every turn; how messages are appraised is the knob (see --appraiser).
        "EMOTION_APPRAISER": getattr(args, "appraiser", "lexicon"),
        "SSE_MAX_SECONDS": "3600",
        # One key drives every session: lift the per-key stream and unanswered-turn limits, which a real app's
        # many keys and end-users would not all meet at once (both ignored by trees older than those limits).
        "STREAM_MAX_CONNECTIONS_PER_KEY": "100000",
        "TURNS_MAX_PENDING_PER_SESSION": "100000",
        "TURNS_MAX_PENDING_PER_APP": "1000000",
        "LOG_LEVEL": "WARNING",
        "PORT": str(web_port),
    }
    if offline:
        for name in ("LLM_BASE_URL", "LLM_API_KEY", "LLM_CHAT_MODEL"):
            del app_env[name]
    # The tree's own directory first on the path, ahead of the venv's editable install: another checkout
    # (bench/compare.py's worktree of a base commit), or a git worktree borrowing the main checkout's venv.
    app_env["PYTHONPATH"] = str(tree)
    # -P: without the current directory on the path, as the server and worker scripts import (sys.path[0] is
    # their bin directory), so only PYTHONPATH or the editable install can supply the code.
    probe = [sys.executable, "-P", "-c", "import apps; print(apps.__path__[0])"]
    served = run_checked(probe, app_env, tree).strip()
    if Path(served).resolve() != tree / "apps":
        raise RuntimeError(f"the stack for {tree} would import apps from {served}")
    run_checked([sys.executable, "manage.py", "migrate", "-v0"], app_env, tree)
    api_key = run_checked([sys.executable, "manage.py", "createapikey", "--app", "bench"], app_env, tree).strip()
    stack.start("web", ["bash", "-c", f"exec {web}"], app_env, tree)
    for index in range(args.workers):
        worker = f"{procfile_command('worker', tree)} -n bench{index}@%h"
        stack.start(f"worker{index}", ["bash", "-c", f"exec {worker}"], app_env, tree)
    return Targets(f"http://127.0.0.1:{web_port}", bare_url, api_key, database_url, served, web)


# --- measuring --------------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))]


def summary(latencies_s: list[float], elapsed: float, errors: int) -> dict:
    return {
        "n": len(latencies_s),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "per_second": round(len(latencies_s) / elapsed, 1) if elapsed else None,
        "p50_ms": round(pct(latencies_s, 50) * 1000, 2) if latencies_s else None,
        "p99_ms": round(pct(latencies_s, 99) * 1000, 2) if latencies_s else None,
    }


async def post_closed_loop(
    http,
    urls: list[str],
    body: dict,
    headers: dict,
    concurrency: int,
    seconds: float,
    bodies: list[dict] | None = None,
):
    """``concurrency`` senders POST ``body`` round-robin over ``urls`` for ``seconds``. With ``bodies`` (one
    per URL, e.g. one per player), sender k keeps to the pairs k, k + concurrency, ... instead: no two senders
    share one, so one player's requests never overlap (a turn that finds its player moved is refused)."""
    latencies: list[float] = []
    errors = 0
    counter = 0
    deadline = time.perf_counter() + seconds

    async def sender(index: int) -> None:
        nonlocal errors, counter
        own = list(range(index, len(urls), concurrency)) or [index % len(urls)]
        sent = 0
        while time.perf_counter() < deadline:
            if bodies is None:
                url, payload = urls[counter % len(urls)], body
                counter += 1
            else:
                pair = own[sent % len(own)]
                url, payload = urls[pair], bodies[pair]
                sent += 1
            started = time.perf_counter()
            try:
                async with http.post(url, json=payload, headers=headers) as resp:
                    await resp.read()
                    ok = 200 <= resp.status < 300
            except (aiohttp.ClientError, TimeoutError):  # a timeout: when the session sets one (bench/servers.py)
                ok = False
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(sender(index) for index in range(concurrency)))
    return summary(latencies, time.perf_counter() - started, errors)


@dataclass
class SessionStream:
    """One SSE stream of a session; hands each reply's arrival time to whoever waits for its run."""

    base: str
    session_id: str
    headers: dict
    last_id: str = "0"
    arrived: dict = field(default_factory=dict)  # run_ref -> (perf_counter, ok)
    waiters: dict = field(default_factory=dict)  # run_ref -> Future
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    def _deliver(self, run_ref: str, ok: bool) -> None:
        now = time.perf_counter()
        waiter = self.waiters.pop(run_ref, None)
        if waiter is not None and not waiter.done():
            waiter.set_result((now, ok))
        else:
            self.arrived[run_ref] = (now, ok)

    async def run(self, http: aiohttp.ClientSession) -> None:
        url = f"{self.base}/v1/sessions/{self.session_id}/events/stream"
        while True:
            try:
                headers = {**self.headers, "Last-Event-ID": self.last_id}
                async with http.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=None)) as resp:
                    resp.raise_for_status()
                    self.connected.set()
                    named = False  # a frame with an ``event:`` line (``message.delta``): not an event of the log
                    async for raw in resp.content:
                        line = raw.decode().rstrip("\n")
                        if not line:
                            named = False
                        elif line.startswith("event: "):
                            named = True
                        elif line.startswith("id: "):
                            self.last_id = line[4:]
                        elif line.startswith("data: ") and not named:
                            event = json.loads(line[6:])
                            if event["event_type"] == "message.created" and event["role"] == "character":
                                self._deliver(event["run_ref"], True)
                            elif event["event_type"] == "run.failed":
                                self._deliver(event["run_ref"], False)
            except (TimeoutError, aiohttp.ClientError):
                await asyncio.sleep(0.2)

    async def reply(self, run_ref: str, timeout: float) -> tuple[float, bool]:
        if run_ref in self.arrived:
            return self.arrived.pop(run_ref)
        future = asyncio.get_running_loop().create_future()
        self.waiters[run_ref] = future
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self.waiters.pop(run_ref, None)


@dataclass
class TurnStats:
    post: list[float] = field(default_factory=list)
    reply: list[float] = field(default_factory=list)
    post_errors: int = 0
    failed: int = 0
    lost: int = 0


async def turn(http, stream: SessionStream, stats: TurnStats, timeout: float) -> None:
    """One turn: POST the message, then wait for its reply on the session's SSE stream."""
    url = f"{stream.base}/v1/sessions/{stream.session_id}/messages"
    started = time.perf_counter()
    try:
        async with http.post(url, json={"text": TEXT}, headers=stream.headers) as resp:
            body = await resp.json()
            status = resp.status
    except aiohttp.ClientError:
        status, body = 0, {}
    if status != 202:
        stats.post_errors += 1
        return
    stats.post.append(time.perf_counter() - started)
    try:
        arrived, ok = await stream.reply(body["data"]["run_ref"], timeout)
    except TimeoutError:
        stats.lost += 1
        return
    if ok:
        stats.reply.append(arrived - started)
    else:
        stats.failed += 1


async def open_loop(http, streams: list[SessionStream], rate: float, seconds: float, timeout: float) -> dict:
    stats = TurnStats()
    tasks = []
    total = int(rate * seconds)
    start = time.perf_counter()
    for index in range(total):
        delay = start + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(turn(http, streams[index % len(streams)], stats, timeout)))
    sent_over = time.perf_counter() - start
    await asyncio.gather(*tasks)
    return {
        "offered_per_second": rate,
        "sent_per_second": round(total / sent_over, 1),
        "post": summary(stats.post, sent_over, stats.post_errors),
        "reply": summary(stats.reply, sent_over, stats.failed + stats.lost),
        "failed": stats.failed,
        "lost": stats.lost,
    }


async def closed_loop(http, streams: list[SessionStream], seconds: float, timeout: float) -> dict:
    stats = TurnStats()
    deadline = time.perf_counter() + seconds

    async def chat(stream: SessionStream) -> None:
        while time.perf_counter() < deadline:
            await turn(http, stream, stats, timeout)

    start = time.perf_counter()
    await asyncio.gather(*(chat(stream) for stream in streams))
    elapsed = time.perf_counter() - start
    return {
        "sessions": len(streams),
        "turns_per_second": round(len(stats.reply) / elapsed, 1),
        "post": summary(stats.post, elapsed, stats.post_errors),
        "reply": summary(stats.reply, elapsed, stats.failed + stats.lost),
        "failed": stats.failed,
        "lost": stats.lost,
    }


async def runs_drain(database_url: str | None, timeout: float = 120.0) -> None:
    """Wait until no run is queued or running, so one phase's backlog does not load the next."""
    if database_url is None:
        await asyncio.sleep(1)
        return
    import psycopg

    deadline = time.monotonic() + timeout
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            cur = await conn.execute("SELECT count(*) FROM conversations_run WHERE status IN ('queued', 'running')")
            if (await cur.fetchone())[0] == 0:
                return
            await asyncio.sleep(0.25)
    raise RuntimeError("runs did not drain")


async def schema_fingerprint(http, base: str) -> dict:
    """What the running web process serves, by its OpenAPI document: tells two trees' stacks apart."""
    import hashlib

    async with http.get(f"{base}/v1/openapi.json") as resp:
        body = await resp.read()
    paths = json.loads(body).get("paths", {}) if resp.status == 200 else {}
    return {"openapi_sha256": hashlib.sha256(body).hexdigest()[:12], "paths": len(paths)}


async def character_publish(http, base: str, headers: dict) -> None:
    character = {"slug": "bench-hero", "display_name": "Bench Hero", "profile": {"summary": "A patient listener."}}
    async with http.post(f"{base}/v1/characters", json=character, headers=headers) as resp:
        if resp.status not in (200, 201):
            raise RuntimeError(f"character publish: {resp.status} {await resp.text()}")


SESSION_EXTRA = {"proactive_enabled": False}  # emptied when the stack under test (an older commit) refuses it


async def sessions_create(http, base: str, headers: dict, count: int, prefix: str) -> list[str]:
    async def one(index: int) -> str:
        while True:
            body = {"character": "bench-hero", "external_user_ref": f"{prefix}-{index}", **SESSION_EXTRA}
            async with http.post(f"{base}/v1/sessions", json=body, headers=headers) as resp:
                if resp.status == 201:
                    return (await resp.json())["data"]["session_id"]
                if 400 <= resp.status < 500 and "proactive_enabled" in body:
                    SESSION_EXTRA.clear()  # an API from before the field: sessions without it never write first
                    continue
                raise RuntimeError(f"session create: {resp.status} {await resp.text()}")

    ids = []
    for chunk in range(0, count, 16):
        ids += await asyncio.gather(*(one(i) for i in range(chunk, min(count, chunk + 16))))
    return ids


async def phase_post(args, targets: Targets, stack: Stack, http, headers: dict, post_sessions: list[str]) -> dict:
    results: dict = {}
    if targets.bare:
        bare_url = [f"{targets.bare}/messages"]
        await post_closed_loop(http, bare_url, BARE_BODY, {}, args.concurrency, args.warmup)
        results["bare"] = await post_closed_loop(http, bare_url, BARE_BODY, {}, args.concurrency, args.post_seconds)
    urls = [f"{targets.base}/v1/sessions/{sid}/messages" for sid in post_sessions]
    await post_closed_loop(http, urls, {"text": TEXT}, headers, args.concurrency, args.warmup)
    await runs_drain(targets.database_url)
    results["ours"] = await post_closed_loop(http, urls, {"text": TEXT}, headers, args.concurrency, args.post_seconds)
    await runs_drain(targets.database_url)
    workers = stack.workers()
    if workers:  # the POST path alone, like the bare view: workers paused, the queued turns answered afterwards
        stack.signal(workers, signal.SIGSTOP)
        try:
            before = cpu_by_process(stack)
            results["ours_post_only"] = await post_closed_loop(
                http, urls, {"text": TEXT}, headers, args.concurrency, args.post_seconds
            )
            after = cpu_by_process(stack)
            posts = results["ours_post_only"]["n"] or 1
            results["ours_post_only"]["cpu_ms_per_post"] = {
                name: round((after[name] - before.get(name, 0.0)) * 1000 / posts, 2)
                for name in sorted(after)
                if after[name] > before.get(name, 0.0)
            }
        finally:
            stack.signal(workers, signal.SIGCONT)
    if targets.bare:
        bare_rate = results["bare"]["per_second"]
        results["ratio"] = round(results["ours"]["per_second"] / bare_rate, 3)
        if "ours_post_only" in results:
            results["ratio_post_only"] = round(results["ours_post_only"]["per_second"] / bare_rate, 3)
    return results


async def bench(args, targets: Targets, stack: Stack) -> dict:
    headers = {"Authorization": f"Bearer {targets.api_key}"}
    await wait_http(f"{targets.base}/v1/llms.txt", stack)
    if targets.bare:
        await wait_http(f"{targets.bare}/messages", stack)
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as http:
        served_api = await schema_fingerprint(http, targets.base)
        await character_publish(http, targets.base, headers)
        run_tag = f"{int(time.time())}"
        post_sessions = await sessions_create(http, targets.base, headers, 64, f"post-{run_tag}")
        latency_sessions = await sessions_create(http, targets.base, headers, args.latency_sessions, f"lat-{run_tag}")
        closed_sessions = await sessions_create(http, targets.base, headers, args.closed_sessions, f"cl-{run_tag}")
        streams = [SessionStream(targets.base, sid, headers) for sid in latency_sessions + closed_sessions]
        readers = [asyncio.create_task(stream.run(http)) for stream in streams]
        await asyncio.wait_for(asyncio.gather(*(s.connected.wait() for s in streams)), 30)
        if args.workers:
            # Warm every process (connection pools, worker threads, clients) with a few real turns.
            warm = await closed_loop(http, streams[:16], args.warmup, args.reply_timeout)
            if warm["lost"] or not warm["reply"]["n"]:
                raise RuntimeError(f"warm-up turns got no replies: {warm}; see var/bench/logs/")
            await runs_drain(targets.database_url)
        else:  # the message POST path alone: nothing answers the turns, so only phase (a) makes sense
            targets.database_url, args.phases = None, "a"
        results: dict = {}
        if "a" in args.phases:
            results["post"] = await phase_post(args, targets, stack, http, headers, post_sessions)
            await runs_drain(targets.database_url)
        if "b" in args.phases:
            latency_streams = streams[: args.latency_sessions]
            results["latency"] = await open_loop(
                http, latency_streams, args.rate, args.latency_seconds, args.reply_timeout
            )
            await runs_drain(targets.database_url)
        if "c" in args.phases:
            before = cpu_by_process(stack)
            results["closed"] = await closed_loop(
                http, streams[args.latency_sessions :], args.closed_seconds, args.reply_timeout
            )
            after = cpu_by_process(stack)
            turns = results["closed"]["reply"]["n"] or 1
            # Where a turn's CPU goes, across every process on the machine's cores (ms of CPU per turn).
            results["closed"]["cpu_ms_per_turn"] = {
                name: round((after[name] - before.get(name, 0.0)) * 1000 / turns, 2) for name in sorted(after)
            }
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    results["served_api"] = served_api
    return results


# --- reporting --------------------------------------------------------------------------------------------


TARGETS = {  # issue 8: ratios to the bare view in the same run, and the reply latency at 50 turns/s offered
    "post_ratio_at_least_0.6": 0.6,
    "closed_ratio_at_least_0.45": 0.45,
    "reply_p50_at_most_30ms": 30.0,
    "reply_p99_at_most_150ms": 150.0,
}


def report(args, results: dict) -> dict:
    post, lat, closed = results.get("post"), results.get("latency"), results.get("closed")
    bare_rate = post["bare"]["per_second"] if post and "bare" in post else None
    if closed and bare_rate:
        closed["ratio_to_bare"] = round(closed["turns_per_second"] / bare_rate, 3)
    checks = {}
    rows = []
    if post:
        ratio = post.get("ratio_post_only", post.get("ratio"))
        checks["post_ratio_at_least_0.6"] = ratio is not None and ratio >= TARGETS["post_ratio_at_least_0.6"]
        for key, label in (
            ("bare", "bare DRF insert"),
            ("ours", "message send"),
            ("ours_post_only", "message send, workers paused"),
        ):
            if key in post:
                fig = post[key]
                rows.append((f"(a) POST c={args.concurrency}, {label}", f"{fig['per_second']} req/s", fig))
    if lat:
        p50, p99 = lat["reply"]["p50_ms"], lat["reply"]["p99_ms"]
        checks["reply_p50_at_most_30ms"] = p50 is not None and p50 <= TARGETS["reply_p50_at_most_30ms"]
        checks["reply_p99_at_most_150ms"] = p99 is not None and p99 <= TARGETS["reply_p99_at_most_150ms"]
        offered = f"{lat['offered_per_second']:g} turns/s"
        rows.append((f"(b) POST at {offered} offered", f"{lat['post']['per_second']} req/s", lat["post"]))
        rows.append((f"(b) reply latency at {offered}", f"{lat['reply']['per_second']} turns/s", lat["reply"]))
    if closed:
        ratio = closed.get("ratio_to_bare")
        checks["closed_ratio_at_least_0.45"] = ratio is not None and ratio >= TARGETS["closed_ratio_at_least_0.45"]
        rows.append(
            (
                f"(c) closed loop, {closed['sessions']} sessions",
                f"{closed['turns_per_second']} turns/s",
                closed["reply"],
            )
        )
    print()
    if post and post.get("ours_post_only", {}).get("cpu_ms_per_post"):
        split = post["ours_post_only"]["cpu_ms_per_post"]
        print("CPU per message POST, workers paused (ms): " + ", ".join(f"{k} {v}" for k, v in split.items()))
    if closed and closed.get("cpu_ms_per_turn"):
        split = closed["cpu_ms_per_turn"]
        print("CPU per closed-loop turn (ms): " + ", ".join(f"{name} {value}" for name, value in split.items())
              + f"; total {round(sum(split.values()), 2)}")  # fmt: skip
    print(f"{'phase':<44} {'rate':>16} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7}")
    for name, rate, fig in rows:
        p50, p99 = fig["p50_ms"], fig["p99_ms"]
        print(
            f"{name:<44} {rate:>16} {p50 if p50 is not None else '-':>9} {p99 if p99 is not None else '-':>9} ", end=""
        )
        print(f"{fig['errors']:>7}")
    if post and "ratio" in post:
        print(f"\nmessage POST / bare POST throughput: {post['ratio']}x with the workers answering meanwhile", end="")
        if "ratio_post_only" in post:
            print(f", {post['ratio_post_only']}x for the POST path alone (workers paused; the target's figure)", end="")
        print()
    if closed and "ratio_to_bare" in closed:
        print(f"closed-loop turns/s / bare POST req/s: {closed['ratio_to_bare']}x")
    print("targets: " + ", ".join(f"{name} {'PASS' if ok else 'FAIL'}" for name, ok in checks.items()))
    return checks


def git_head(tree: Path = ROOT) -> str:
    with contextlib.suppress(Exception):
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True)
        return done.stdout.strip()
    return ""


def figures_write(name: str, *, args: argparse.Namespace, results: dict, targets: dict, tree: Path = ROOT) -> Path:
    """Record one run's figures, with when, which commit and which machine, in ``var/bench/<name>.json``."""
    record = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": git_head(tree),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "args": vars(args),
        "results": results,
        "targets": targets,
    }
    path = OUT_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"figures written to {path.relative_to(ROOT)}")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", help="base URL of an already running stack (then give --api-key)")
    parser.add_argument(
        "--tree",
        default=str(ROOT),
        help="checkout whose Procfile, manage.py and code the stack runs (default: this one; bench/compare.py "
        "passes a worktree of the base commit). The bare view, fake LLM and load always come from this checkout",
    )
    parser.add_argument(
        "--web",
        help="command serving the API instead of the Procfile's web line (${PORT} is its port); the bare view "
        "runs under the same command with bare.asgi/bare.wsgi swapped in",
    )
    parser.add_argument("--out", default="turns", help="figures go to var/bench/<OUT>.json")
    parser.add_argument("--api-key", help="API key for --target (or env BENCH_API_KEY)")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare reference view")
    parser.add_argument("--database", default="dramatis_bench", help="database to (re)create for the stack")
    parser.add_argument("--redis-db", type=int, default=12, help="Redis db number for the stack (flushed)")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="Celery worker processes to start (0: measure the message POST path alone)",
    )
    parser.add_argument(
        "--appraiser",
        default="lexicon",
        choices=["lexicon", "auto"],
        help="EMOTION_APPRAISER of the stack: lexicon (emotion on, one model call per turn; the targets' figure) "
        "or auto (a second, metered model call appraises each message)",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="phase (a) concurrent senders")
    parser.add_argument("--post-seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=50.0, help="phase (b) offered turns/s")
    parser.add_argument("--latency-sessions", type=int, default=100)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--closed-sessions", type=int, default=64)
    parser.add_argument("--closed-seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--reply-timeout", type=float, default=30.0)
    parser.add_argument("--phases", default="abc", help="which phases to run, e.g. 'a' or 'bc'")
    parser.add_argument("--quick", action="store_true", help="short phases for a smoke run")
    parser.add_argument("--hold", action="store_true", help="keep the stack running after the phases (profiling)")
    args = parser.parse_args()
    if args.quick:
        args.post_seconds, args.latency_seconds, args.closed_seconds, args.warmup = 4.0, 6.0, 5.0, 1.0

    def run(stack: Stack) -> None:
        targets = stack_start(args, stack)
        results = asyncio.run(bench(args, targets, stack))
        results["stack"] = {"web": targets.web, "served_from": targets.served_from}
        checks = report(args, results)
        figures_write(args.out, args=args, results=results, targets=checks, tree=Path(args.tree))
        if args.hold:
            print("holding the stack; Ctrl-C to stop")
            signal.pause()

    with_stack(run)


if __name__ == "__main__":
    main()
