"""OpenAI door benchmark: chat completions under load against the bare Django+DRF insert view in the same
run, the time to the first streamed chunk, and the native SSE stream's time to its first ``message.delta``.

Usage (``make bench-openai`` runs the first form)::

    .venv/bin/python bench/openai_door.py            # start everything, run the three phases, stop (about a minute)
    .venv/bin/python bench/openai_door.py --quick    # shorter phases (a smoke run, noisier figures)

The stack is ``bench/turns.py``'s (``stack_start``), on 127.0.0.1 only and stopped by process group at exit:
the Procfile's web line with PostgreSQL (its own freshly migrated database ``dramatis_bench_openai``) and
Redis (its own db, ``--redis-db``, flushed), the bare reference view served by the same web line, and two
Celery workers from the Procfile's worker line (only the native phase uses them: a native turn is
asynchronous; they are paused, SIGSTOP, during the other phases). No model server: without LLM_* settings
the offline ``scripted`` provider writes every reply in-process, streaming its words.

Setup through the API itself: an app and key (``manage.py createapikey``), the character ``bench-hero``
(``POST /v1/characters``), and for the native phase sessions with it (``POST /v1/sessions``).

Phases (the load generator is this process: aiohttp, one event loop):

(a) Closed loop at ``--concurrency`` (32) for ``--seconds`` each, after a warm-up: the bare view's
    ``POST /messages``; then ``POST /openai/v1/chat/completions`` three ways: ``character:bench-hero`` without
    ``user`` (stateless), with ``user`` (a turn of that end-user's session; 64 users, each sender keeping to
    its own), and the catalog model ``scripted`` (a plain completion). ``ratio`` is ours / bare (target
    >= 0.35 for the stateless and the stateful completion).
(b) Streams, ``stream: true`` with ``stream_options.include_usage``, open loop at ``--stream-rate`` streams/s
    (below capacity, as bench/turns.py measures reply latency): the time from sending the request to the end
    of the first chunk (the role), of the first content chunk, and of ``data: [DONE]``; stateless and with a
    ``user``. Target: the first content chunk's p50 <= 20 ms.
(c) Native SSE: ``--native-sessions`` sessions each with an open ``GET /v1/sessions/{id}/events/stream``;
    messages posted at ``--native-rate``/s round-robin over them; the time from sending the POST to the first
    ``event: message.delta`` frame of its run, and to its ``message.created``. A stack without delta frames
    reports none.

Figures are printed and written to ``var/bench/openai.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from turns import (  # noqa: E402  (the shared pieces of the turn benchmark)
    BARE_BODY,
    ROOT,
    TEXT,
    Stack,
    character_publish,
    figures_write,
    post_closed_loop,
    sessions_create,
    stack_start,
    summary,
    wait_http,
    with_stack,
)

USERS = 64
CHARACTER = "character:bench-hero"
TARGETS = {"completion_ratio_at_least_0.35": 0.35, "first_chunk_p50_at_most_20ms": 20.0}


def chat_body(model: str = CHARACTER, user: str | None = None, stream: bool = False) -> dict:
    body: dict = {"model": model, "messages": [{"role": "user", "content": TEXT}]}
    if user:
        body["user"] = user
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    return body


async def phase_completions(args, http, base: str, bare: str, headers: dict) -> dict:
    url = f"{base}/openai/v1/chat/completions"
    async with http.post(url, json=chat_body(), headers=headers) as resp:
        if resp.status != 200:  # say why before measuring a loop of errors
            raise RuntimeError(f"chat/completions: {resp.status} {await resp.text()}")
    bare_url = [f"{bare}/messages"]
    await post_closed_loop(http, bare_url, BARE_BODY, {}, args.concurrency, args.warmup)
    results = {"bare": await post_closed_loop(http, bare_url, BARE_BODY, {}, args.concurrency, args.seconds)}
    users = [f"bench-user-{index}" for index in range(USERS)]
    kinds = {
        "stateless": ([url], chat_body(), None),
        "with_user": ([url] * USERS, {}, [chat_body(user=user) for user in users]),
        "catalog": ([url], chat_body(model="scripted"), None),
    }
    for name, (urls, body, bodies) in kinds.items():
        await post_closed_loop(http, urls, body, headers, args.concurrency, args.warmup, bodies=bodies)
        results[name] = await post_closed_loop(http, urls, body, headers, args.concurrency, args.seconds, bodies=bodies)
        results[name]["ratio"] = round(results[name]["per_second"] / results["bare"]["per_second"], 3)
    return results


async def stream_once(http, url: str, body: dict, headers: dict) -> tuple[float, float, float] | str:
    """One streamed completion: seconds to the end of its first chunk, of its first content chunk and of
    ``[DONE]``; or what went wrong."""
    started = time.perf_counter()
    first = content = None
    async with http.post(url, json=body, headers=headers) as resp:
        if resp.status != 200:
            return f"{resp.status} {(await resp.text())[:200]}"
        async for raw in resp.content:
            line = raw.decode().rstrip("\r\n")
            if not line.startswith("data: "):
                continue
            now = time.perf_counter() - started
            if line == "data: [DONE]":
                return (first, content, now) if content is not None else "no content chunk"
            chunk = json.loads(line[6:])
            if "error" in chunk:
                return f"error frame {chunk['error'].get('message', '')[:100]}"
            first = first if first is not None else now
            if content is None and any(choice["delta"].get("content") for choice in chunk["choices"]):
                content = now
    return "the stream ended without [DONE]"


async def stream_kind(args, http, url: str, headers: dict, user_prefix: str | None, failures: dict) -> dict:
    """Streams of one kind at ``--stream-rate``/s, after a warm-up in which every user's session is made."""
    firsts: list[float] = []
    contents: list[float] = []
    dones: list[float] = []
    errors = 0
    measuring = False

    async def one(index: int) -> None:
        nonlocal errors
        user = f"{user_prefix}-{index % USERS}" if user_prefix else None
        try:
            outcome = await stream_once(http, url, chat_body(user=user, stream=True), headers)
        except aiohttp.ClientError as error:
            outcome = f"{type(error).__name__}: {error}"
        if isinstance(outcome, str):
            errors += 1
            failures[outcome[:120]] = failures.get(outcome[:120], 0) + 1
        elif measuring:
            firsts.append(outcome[0])
            contents.append(outcome[1])
            dones.append(outcome[2])

    for chunk in range(0, USERS, 16):
        await asyncio.gather(*(one(index) for index in range(chunk, chunk + 16)))
    measuring, errors = True, 0
    tasks = []
    started = time.perf_counter()
    for index in range(int(args.stream_rate * args.stream_seconds)):
        delay = started + index / args.stream_rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(index)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    return {
        "to_first_chunk": summary(firsts, elapsed, errors),
        "to_first_content": summary(contents, elapsed, errors),
        "to_done": summary(dones, elapsed, errors),
    }


async def phase_streams(args, http, base: str, headers: dict) -> dict:
    url = f"{base}/openai/v1/chat/completions"
    results: dict = {"rate": args.stream_rate, "failures": {}}
    results["stateless"] = await stream_kind(args, http, url, headers, None, results["failures"])
    results["with_user"] = await stream_kind(args, http, url, headers, "bench-stream", results["failures"])
    return results


class DeltaListener:
    """One session's native SSE stream: when each run's first ``message.delta`` and its reply arrived."""

    def __init__(self, base: str, session_id: str, headers: dict) -> None:
        self.url = f"{base}/v1/sessions/{session_id}/events/stream"
        self.headers = headers
        self.first_delta: dict[str, float] = {}
        self.replied: dict[str, float] = {}
        self.connected = asyncio.Event()

    async def run(self, http) -> None:
        event = None
        async with http.get(self.url, headers=self.headers, timeout=aiohttp.ClientTimeout(total=None)) as resp:
            resp.raise_for_status()
            self.connected.set()
            async for raw in resp.content:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
                    now = time.perf_counter()
                    if event == "message.delta":
                        self.first_delta.setdefault(data["run_ref"], now)
                    elif data.get("event_type") == "message.created" and data.get("role") == "character":
                        self.replied.setdefault(data["run_ref"], now)
                elif not line:
                    event = None


async def phase_native(args, http, base: str, headers: dict) -> dict:
    await character_publish(http, base, headers)  # idempotent: the same content keeps its version
    sessions = await sessions_create(http, base, headers, args.native_sessions, f"native-{int(time.time())}")
    listeners = [DeltaListener(base, session_id, headers) for session_id in sessions]
    readers = [asyncio.ensure_future(listener.run(http)) for listener in listeners]
    await asyncio.wait_for(asyncio.gather(*(listener.connected.wait() for listener in listeners)), 10)
    sent: list[tuple[DeltaListener, str, float]] = []
    errors = 0

    async def post(listener: DeltaListener, session_id: str, measure: bool) -> None:
        nonlocal errors
        started = time.perf_counter()
        async with http.post(f"{base}/v1/sessions/{session_id}/messages", json={"text": TEXT}, headers=headers) as r:
            body = await r.json()
            if r.status != 202:
                errors += 1
                return
        if measure:
            sent.append((listener, body["data"]["run_ref"], started))

    count = int(args.native_rate * args.native_seconds)
    for warm in (True, False):
        tasks = []
        started = time.perf_counter()
        for index in range(len(sessions) if warm else count):
            delay = started + index / args.native_rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            pick = index % len(sessions)
            tasks.append(asyncio.ensure_future(post(listeners[pick], sessions[pick], not warm)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and any(run not in lis.replied for lis, run, _ in sent):
            await asyncio.sleep(0.1)
    for reader in readers:
        reader.cancel()
    deltas = [lis.first_delta[run] - at for lis, run, at in sent if run in lis.first_delta]
    replies = [lis.replied[run] - at for lis, run, at in sent if run in lis.replied]
    return {
        "rate": args.native_rate,
        "sessions": len(sessions),
        "to_first_delta": summary(deltas, elapsed, errors + len(sent) - len(deltas)),
        "to_message_created": summary(replies, elapsed, errors + len(sent) - len(replies)),
    }


async def bench(args, base: str, bare: str, api_key: str, stack: Stack) -> dict:
    headers = {"Authorization": f"Bearer {api_key}"}
    await wait_http(f"{base}/v1/llms.txt", stack)
    await wait_http(f"{bare}/messages", stack)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        await character_publish(http, base, headers)
        # The workers serve only the native phase: paused before, so that the door is measured like the bare
        # view and the NPC route (a web process alone), not beside idle workers polling their broker.
        stack.signal(stack.workers(), signal.SIGSTOP)
        try:
            results = {"completions": await phase_completions(args, http, base, bare, headers)}
            results["streams"] = await phase_streams(args, http, base, headers)
        finally:
            stack.signal(stack.workers(), signal.SIGCONT)
        results["native"] = await phase_native(args, http, base, headers)
    return results


def report(args, results: dict) -> dict:
    completions, streams, native = results["completions"], results["streams"], results["native"]
    # Each target checked for both kinds of character call: stateless (a completion) and with ``user`` (a whole
    # turn of a session: the message accepted, emotion, the reply, all written, inside the request).
    checks = {}
    for kind in ("stateless", "with_user"):
        ratio, p50 = completions[kind]["ratio"], streams[kind]["to_first_content"]["p50_ms"]
        checks[f"{kind}_completion_ratio_at_least_0.35"] = ratio >= TARGETS["completion_ratio_at_least_0.35"]
        checks[f"{kind}_first_chunk_p50_at_most_20ms"] = (
            p50 is not None and p50 <= TARGETS["first_chunk_p50_at_most_20ms"]
        )
    c, rate = args.concurrency, streams["rate"]
    rows = [
        (f"bare DRF insert, c={c}", completions["bare"]),
        (f"chat completion, character, no user, c={c}", completions["stateless"]),
        (f"chat completion, character + user, c={c}", completions["with_user"]),
        (f"chat completion, catalog model, c={c}", completions["catalog"]),
    ]
    for name, label in (("stateless", "no user"), ("with_user", "+ user")):
        rows.append((f"stream {label}: first chunk, {rate}/s", streams[name]["to_first_chunk"]))
        rows.append((f"stream {label}: first content chunk, {rate}/s", streams[name]["to_first_content"]))
        rows.append((f"stream {label}: [DONE], {rate}/s", streams[name]["to_done"]))
    rows.append((f"native SSE: first message.delta, {native['rate']}/s", native["to_first_delta"]))
    rows.append((f"native SSE: message.created, {native['rate']}/s", native["to_message_created"]))
    print()
    print(f"{'phase':<50} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7}")
    for label, fig in rows:
        p50_ms, p99_ms = (fig[key] if fig[key] is not None else "-" for key in ("p50_ms", "p99_ms"))
        print(f"{label:<50} {fig['per_second']:>9} {p50_ms:>9} {p99_ms:>9} {fig['errors']:>7}")
    ratios = ", ".join(f"{name} {completions[name]['ratio']}x" for name in ("stateless", "with_user", "catalog"))
    print(f"\ncompletions / bare throughput: {ratios} (target >= 0.35)")
    firsts = ", ".join(
        f"{name} {streams[name]['to_first_content']['p50_ms']} ms" for name in ("stateless", "with_user")
    )
    print(f"stream first content chunk p50 at {rate}/s: {firsts} (target <= 20 ms)")
    for failure, count in streams["failures"].items():
        print(f"stream failures: {count} x {failure}")
    print("targets: " + ", ".join(f"{name} {'PASS' if ok else 'FAIL'}" for name, ok in checks.items()))
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--web", help="command serving the API instead of the Procfile's web line")
    parser.add_argument("--database", default="dramatis_bench_openai", help="database to (re)create for the stack")
    parser.add_argument("--redis-db", type=int, default=13, help="Redis db number for the stack (flushed)")
    parser.add_argument("--concurrency", type=int, default=32, help="phase (a) concurrent senders")
    parser.add_argument("--seconds", type=float, default=8.0, help="phase (a) measuring time per kind")
    parser.add_argument("--stream-seconds", type=float, default=8.0)
    parser.add_argument("--stream-rate", type=float, default=30.0, help="open-loop streams started per second")
    parser.add_argument("--native-sessions", type=int, default=8)
    parser.add_argument("--native-seconds", type=float, default=8.0)
    parser.add_argument("--native-rate", type=float, default=10.0, help="native messages posted per second")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--quick", action="store_true", help="short phases for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.stream_seconds, args.native_seconds, args.warmup = 3.0, 3.0, 3.0, 1.0
    # What bench/turns.py's stack_start reads: this checkout, no --target, the bare view, two Celery workers
    # (the native phase's turns are asynchronous), and the offline scripted provider instead of a model server.
    args.tree, args.target, args.api_key, args.no_bare = str(ROOT), None, None, False
    args.workers, args.llm = 2, "scripted"

    def run(stack: Stack) -> None:
        targets = stack_start(args, stack)
        results = asyncio.run(bench(args, targets.base, targets.bare, targets.api_key, stack))
        results["stack"] = {"web": targets.web, "served_from": targets.served_from}
        figures_write("openai", args=args, results=results, targets=report(args, results))

    with_stack(run)


if __name__ == "__main__":
    main()
