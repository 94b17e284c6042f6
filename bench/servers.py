"""Which server should run the ``web`` process? The same API under each candidate, with the streams it must serve.

Usage::

    .venv/bin/python bench/servers.py                 # every candidate, one round (about 3 minutes)
    .venv/bin/python bench/servers.py --quick         # shorter phases (a smoke run)
    .venv/bin/python bench/servers.py --rounds 3      # candidates alternated, medians of 3 rounds
    .venv/bin/python bench/servers.py --only uvicorn-2,gunicorn-sync-2

Rule of the product: one server, one origin. Whatever serves the REST API also serves every stream on the
same host and port (native SSE ``GET /v1/sessions/{id}/events/stream``, the Channels WebSocket
``/emotion/v1/ws/{sessionId}``), so a client changes only its base URL. A server is therefore measured with
streams open, not only on plain requests.

For each candidate ``bench/turns.py`` starts the stack (its ``Stack`` and ``stack_start``) with that command
as the web line and no Celery workers (the message POST path alone, as in the bare view; the queued turns
are never answered), and the bare reference view under **the same command with the bare app swapped in**,
so the ratio compares like with like. Then, closed loop at concurrency ``--concurrency``:

1. the bare view ``POST /messages``;
2. ours ``POST /v1/sessions/{id}/messages`` over 64 sessions;
3. ours again while ``--streams`` SSE streams are held open for ``--stream-seconds`` each. A stream counts
   as OK when its response started within 2 s, the events of a message posted to its session after it
   connected (``message.created``, ``run.status``) arrived over it, and it stayed open for the whole hold.
   Under sync WSGI workers a stream holds a worker for its whole life (and Django buffers an async stream
   body until it ends), which is what the "with streams" columns show;
4. a WebSocket check: create an emotion session, connect ``/emotion/v1/ws/{id}?token=``, expect
   ``connected``, send ``ping``, expect ``pong``.

Every request has a 10 s timeout, so a blocked server shows as errors instead of hanging the run.
Figures are printed and written to ``var/bench/servers.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from turns import (  # noqa: E402  (the stack and load helpers of the turn benchmark)
    BARE_BODY,
    ROOT,
    TEXT,
    Stack,
    character_publish,
    figures_write,
    post_closed_loop,
    sessions_create,
    stack_start,
    wait_http,
)

UVICORN = "uvicorn config.asgi:application --host 127.0.0.1 --port ${PORT} --no-access-log --lifespan off"
CANDIDATES = {
    "daphne": "daphne -b 127.0.0.1 -p ${PORT} config.asgi:application",
    "uvicorn-1": f"{UVICORN} --workers 1 --loop uvloop --http httptools",
    "uvicorn-2": f"{UVICORN} --workers 2 --loop uvloop --http httptools",
    "gunicorn-uvicorn-2": "gunicorn config.asgi:application -k uvicorn.workers.UvicornWorker -w 2 -b 127.0.0.1:${PORT}",
    "gunicorn-sync-2": "gunicorn config.wsgi -w 2 -b 127.0.0.1:${PORT}",
}
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=10)


async def sse_hold(http, base: str, session_id: str, headers: dict, seconds: float) -> bool:
    """Open the session's stream, post one message once it is open, and hold it: did that event come through?"""
    url = f"{base}/v1/sessions/{session_id}/events/stream"
    started = time.perf_counter()
    seen = False
    try:
        async with asyncio.timeout(seconds + 1):
            async with http.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=None)) as resp:
                if resp.status != 200 or time.perf_counter() - started > 2:
                    return False
                first = await resp.content.readline()  # the "retry:" line the stream opens with
                if not first:
                    return False
                post_url = f"{base}/v1/sessions/{session_id}/messages"
                async with http.post(post_url, json={"text": TEXT}, headers=headers, timeout=REQUEST_TIMEOUT) as sent:
                    if sent.status != 202:
                        return False
                    accepted = (await sent.json())["data"]
                    cursor, run_ref = accepted["cursor"], accepted["run_ref"]
                while time.perf_counter() - started < seconds:
                    remaining = seconds - (time.perf_counter() - started)
                    try:
                        raw = await asyncio.wait_for(resp.content.readline(), remaining)
                    except TimeoutError:
                        break
                    if not raw:
                        break
                    line = raw.decode().rstrip("\n")
                    if line.startswith("data: ") and '"message.delta"' not in line:  # deltas are not the log's
                        event = json.loads(line[6:])
                        if event.get("cursor") == cursor or event.get("run_ref") == run_ref:
                            seen = True  # the user's message.created (or the run.status beside it)
                held = time.perf_counter() - started >= seconds - 0.05
                return seen and held
    except (aiohttp.ClientError, TimeoutError, KeyError, ValueError):
        return False


async def websocket_check(http, base: str, api_key: str) -> bool:
    headers = {"Authorization": f"Bearer {api_key}"}
    try:
        create = {"preset": "cheerful_companion"}
        async with http.post(f"{base}/emotion/v1/persona", json=create, headers=headers) as resp:
            if resp.status != 201:
                return False
            session_id = (await resp.json())["sessionId"]
        ws_url = base.replace("http://", "ws://") + f"/emotion/v1/ws/{session_id}?token={api_key}"
        async with asyncio.timeout(5), http.ws_connect(ws_url) as ws:
            hello = await ws.receive_json()
            if hello.get("type") != "connected":
                return False
            await ws.send_json({"type": "ping"})
            return (await ws.receive_json()).get("type") == "pong"
    except (aiohttp.ClientError, TimeoutError, KeyError, ValueError, TypeError):
        return False


async def measure(args, targets, stack: Stack) -> dict:
    headers = {"Authorization": f"Bearer {targets.api_key}"}
    await wait_http(f"{targets.base}/v1/llms.txt", stack)
    await wait_http(f"{targets.bare}/messages", stack)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=REQUEST_TIMEOUT) as http:
        await character_publish(http, targets.base, headers)
        tag = f"{int(time.time())}"
        post_sessions = await sessions_create(http, targets.base, headers, 64, f"srv-post-{tag}")
        stream_sessions = await sessions_create(http, targets.base, headers, args.streams, f"srv-sse-{tag}")
        bare = [f"{targets.bare}/messages"]
        ours = [f"{targets.base}/v1/sessions/{sid}/messages" for sid in post_sessions]
        body = {"text": TEXT}
        await post_closed_loop(http, bare, BARE_BODY, {}, args.concurrency, args.warmup)
        result = {"bare": await post_closed_loop(http, bare, BARE_BODY, {}, args.concurrency, args.seconds)}
        await post_closed_loop(http, ours, body, headers, args.concurrency, args.warmup)
        result["post"] = await post_closed_loop(http, ours, body, headers, args.concurrency, args.seconds)
        holds = [
            asyncio.create_task(sse_hold(http, targets.base, sid, headers, args.stream_seconds))
            for sid in stream_sessions
        ]
        await asyncio.sleep(0.3)  # the streams open first, then the load runs beside them
        load_seconds = max(1.0, min(args.seconds, args.stream_seconds - 0.5))
        result["post_with_streams"] = await post_closed_loop(http, ours, body, headers, args.concurrency, load_seconds)
        result["streams_ok"] = sum(await asyncio.gather(*holds))
        result["streams"] = args.streams
        result["websocket_ok"] = await websocket_check(http, targets.base, targets.api_key)
    bare_rate = result["bare"]["per_second"]
    result["ratio"] = round(result["post"]["per_second"] / bare_rate, 3) if bare_rate else None
    return result


def one_server(args, name: str, command: str, round_index: int) -> dict:
    stack_args = argparse.Namespace(
        tree=str(ROOT),
        web=command,
        target=None,
        api_key=None,
        no_bare=False,
        database=args.database,
        redis_db=args.redis_db,
        workers=0,
    )
    stack = Stack()
    try:
        targets = stack_start(stack_args, stack)
        print(f"[round {round_index + 1}] {name}: {command}", flush=True)
        result = asyncio.run(measure(args, targets, stack))
    finally:
        stack.stop()
    result["command"] = command
    return result


def median_of(runs: list[dict], *path: str):
    values = []
    for run in runs:
        value = run
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            values.append(value)
    return round(statistics.median(values), 2) if values else None


def table(results: dict[str, list[dict]]) -> list[dict]:
    rows = []
    for name, runs in results.items():
        rows.append(
            {
                "server": name,
                "bare": median_of(runs, "bare", "per_second"),
                "post": median_of(runs, "post", "per_second"),
                "ratio": median_of(runs, "ratio"),
                "p50": median_of(runs, "post", "p50_ms"),
                "p99": median_of(runs, "post", "p99_ms"),
                "post_streams": median_of(runs, "post_with_streams", "per_second"),
                "p99_streams": median_of(runs, "post_with_streams", "p99_ms"),
                "errors_streams": median_of(runs, "post_with_streams", "errors"),
                "streams_ok": f"{min(r['streams_ok'] for r in runs)}/{runs[0]['streams']}",
                "ws": "yes" if all(r["websocket_ok"] for r in runs) else "no",
            }
        )
    header = (
        f"{'server':<20} {'bare req/s':>10} {'POST req/s':>10} {'ratio':>6} {'p50/p99 ms':>14} "
        f"{'POST+SSE req/s':>14} {'p99 ms':>8} {'errors':>6} {'SSE ok':>7} {'WS':>3}"
    )
    print()
    print(header)
    for row in rows:
        print(
            f"{row['server']:<20} {row['bare'] or '-':>10} {row['post'] or '-':>10} {row['ratio'] or '-':>6} "
            f"{f'{row["p50"]}/{row["p99"]}':>14} {row['post_streams'] or '-':>14} {row['p99_streams'] or '-':>8} "
            f"{row['errors_streams'] or 0:>6} {row['streams_ok']:>7} {row['ws']:>3}"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help=f"comma-separated candidates (default all: {', '.join(CANDIDATES)})")
    parser.add_argument("--rounds", type=int, default=1, help="alternate the candidates this many times; medians")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0, help="each closed-loop measurement")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--streams", type=int, default=6, help="SSE streams held open beside the POST load")
    parser.add_argument("--stream-seconds", type=float, default=5.0)
    parser.add_argument("--database", default="dramatis_bench_servers")
    parser.add_argument("--redis-db", type=int, default=11)
    parser.add_argument("--quick", action="store_true", help="shorter phases for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup = 4.0, 1.0
    names = args.only.split(",") if args.only else list(CANDIDATES)
    unknown = [name for name in names if name not in CANDIDATES]
    if unknown:
        parser.error(f"unknown candidates: {unknown}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results: dict[str, list[dict]] = {name: [] for name in names}
    try:
        for round_index in range(args.rounds):
            for name in names:
                results[name].append(one_server(args, name, CANDIDATES[name], round_index))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
    rows = table({name: runs for name, runs in results.items() if runs})
    figures_write("servers", args=args, results={"rows": rows, "runs": results}, targets={})


if __name__ == "__main__":
    main()
