"""NPC benchmark: the Foil-compatible message route under load, against the bare Django+DRF insert view in the
same run, and the streamed message's time to its ``metadata`` event.

Usage (``make bench-npc`` runs the first form)::

    .venv/bin/python bench/npc.py            # start everything, run both phases, stop (about 40 s)
    .venv/bin/python bench/npc.py --quick    # shorter phases (a smoke run, noisier figures)

The stack is ``bench/turns.py``'s (``stack_start``), on 127.0.0.1 only and stopped by process group at exit:
the Procfile's web line with PostgreSQL (its own freshly migrated database ``dramatis_bench_npc``) and Redis
(its own db, ``--redis-db``, flushed), and the bare reference view served by the same web line. No Celery
worker and no model server: an NPC turn runs inside the web request, and without LLM_* settings the offline
``scripted`` provider writes the replies in-process.

Setup through the API itself: an app and key (``manage.py createapikey``), one NPC saved with
``POST /npc/api/v1/creator/save`` whose machine loops (two states that pass to each other on "hello", a win
on "password" that no bench message says), so every message is decided by a keyword matcher (no evaluation
call, one reply call) and thousands of messages never end the machine; then ``init-session`` for 64 players.

Phases (the load generator is this process: aiohttp, one event loop):

(a) Closed loop at ``--concurrency`` (32) for ``--seconds``, after a warm-up: the bare view's
    ``POST /messages``, then ``POST /npc/api/v1/sdk/chat/{persona_id}/message`` with ``X-API-Key`` over the
    64 players (each sender keeps to its own players, so one player's turns never overlap). ``req/s`` counts
    2xx answers; ``ratio`` is ours / bare (target >= 0.35).
(b) The stream, ``POST .../message/stream`` with the same body: the time from sending the request to the end
    of its first ``event: metadata`` frame, and to the end of the stream (``event: done``), measured twice:
    open loop at ``--stream-rate`` streams/s (30, a quarter or so of capacity, as bench/turns.py measures reply
    latency below saturation: the target p50 <= 20 ms is checked here), and closed loop at
    ``--stream-concurrency`` (8), where every figure includes queueing at saturation. An ``event: error`` or a
    non-200 answer counts as an error. A stack without the route (404/405) skips the phase with a note.

Figures are printed and written to ``var/bench/npc.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from turns import (  # noqa: E402  (the shared pieces of the turn benchmark)
    BARE_BODY,
    ROOT,
    Stack,
    cpu_by_process,
    figures_write,
    post_closed_loop,
    stack_start,
    summary,
    wait_http,
    with_stack,
)

PLAYERS = 64
MESSAGE = "Hello again, friend; any news from the road today?"
TARGETS = {"message_ratio_at_least_0.35": 0.35, "metadata_p50_at_most_20ms": 20.0}


def scenario() -> dict:
    """One NPC whose machine never ends under the bench's messages: "hello" passes from ``near`` to ``far``
    and back; only "password" (never sent) wins. Every message is decided by a matcher."""
    loop = [
        {"from_state_key": "near", "to_state_key": "far", "decision_type": "pass", "priority": 2},
        {"from_state_key": "far", "to_state_key": "near", "decision_type": "pass", "priority": 2},
        {"from_state_key": "near", "to_state_key": "won", "decision_type": "pass", "priority": 1},
        {"from_state_key": "far", "to_state_key": "won", "decision_type": "pass", "priority": 1},
    ]
    for transition in loop:
        keyword = "password" if transition["to_state_key"] == "won" else "hello"
        transition["matchers"] = [{"type": "keywords", "keywords": [keyword]}]
    return {
        "persona": {"name": "Bench Keeper", "description": "Keeps the bench gate.", "identity_prompt": "Patient."},
        "machines": [
            {
                "key": "loop",
                "name": "The loop",
                "objective": "Keep talking.",
                "is_entry": True,
                "is_published": True,
                "states": [
                    {"key": "near", "is_initial": True, "system_prompt": "Stay close."},
                    {"key": "far", "system_prompt": "Keep your distance."},
                    {"key": "won", "terminal": "win"},
                ],
                "transitions": loop,
            }
        ],
        "machine_links": [],
    }


async def npc_setup(http, base: str, headers: dict, players: int) -> tuple[str, list[str]]:
    """Save the NPC and start one session per player; return the persona id and the player session ids."""
    async with http.post(f"{base}/npc/api/v1/creator/save", json=scenario(), headers=headers) as resp:
        if resp.status != 201:
            raise RuntimeError(f"creator/save: {resp.status} {await resp.text()}")
        persona_id = (await resp.json())["persona_id"]
    tag = int(time.time())
    ids = [f"player-{tag}-{index}" for index in range(players)]

    async def start(player: str) -> None:
        body = {"user_session_id": player, "player_name": "Bench", "player_gender": "unspecified"}
        async with http.post(f"{base}/npc/api/v1/sdk/chat/{persona_id}/init-session", json=body, headers=headers) as r:
            if r.status != 200:
                raise RuntimeError(f"init-session: {r.status} {await r.text()}")

    for chunk in range(0, players, 16):
        await asyncio.gather(*(start(player) for player in ids[chunk : chunk + 16]))
    return persona_id, ids


async def phase_messages(args, http, base: str, bare: str, headers: dict, persona_id: str, players: list[str], stack):
    bare_url = [f"{bare}/messages"]
    await post_closed_loop(http, bare_url, BARE_BODY, {}, args.concurrency, args.warmup)
    results = {"bare": await post_closed_loop(http, bare_url, BARE_BODY, {}, args.concurrency, args.seconds)}
    url = f"{base}/npc/api/v1/sdk/chat/{persona_id}/message"
    async with http.post(url, json={"message": MESSAGE, "user_session_id": players[0]}, headers=headers) as resp:
        if resp.status != 200:  # say why before measuring a loop of errors
            raise RuntimeError(f"message: {resp.status} {await resp.text()}")
    urls, bodies = [url] * len(players), [{"message": MESSAGE, "user_session_id": player} for player in players]
    await post_closed_loop(http, urls, {}, headers, args.concurrency, args.warmup, bodies=bodies)
    before = cpu_by_process(stack)
    results["npc_message"] = await post_closed_loop(
        http, urls, {}, headers, args.concurrency, args.seconds, bodies=bodies
    )
    after, answered = cpu_by_process(stack), results["npc_message"]["n"] or 1
    # Where a message's CPU goes (ms per answered message): steadier than req/s on a shared machine.
    results["npc_message"]["cpu_ms_per_message"] = {
        name: round((after[name] - before.get(name, 0.0)) * 1000 / answered, 2)
        for name in sorted(after)
        if after[name] > before.get(name, 0.0)
    }
    results["ratio"] = round(results["npc_message"]["per_second"] / results["bare"]["per_second"], 3)
    return results


async def stream_once(http, url: str, body: dict, headers: dict) -> tuple[float, float] | str:
    """One streamed message: seconds to the end of the first ``metadata`` frame and to the end of the stream
    (``done``); or what went wrong (an error answer's status and body, an ``error`` event's data)."""
    started = time.perf_counter()
    metadata = None
    event = data = None
    # Headers as Foil's SDK sends them (no Accept header).
    async with http.post(url, json=body, headers=headers) as resp:
        if resp.status != 200:
            return f"{resp.status} {(await resp.text())[:200]}"
        async for raw in resp.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif line == "" and event is not None:  # a frame ends
                if event == "metadata" and metadata is None:
                    metadata = time.perf_counter() - started
                elif event == "error":
                    return f"event: error {data}"
                elif event == "done":
                    return (metadata, time.perf_counter() - started) if metadata is not None else "no metadata"
                event = None
    return "the stream ended without done"


async def phase_stream(args, http, base: str, headers: dict, persona_id: str, players: list[str]) -> dict:
    url = f"{base}/npc/api/v1/sdk/chat/{persona_id}/message/stream"
    probe = {"message": MESSAGE, "user_session_id": players[0]}
    async with http.post(url, json=probe, headers=headers) as resp:
        status = resp.status
        await resp.read()
    if status in (404, 405):
        return {"skipped": f"POST {url.replace(base, '')} answered {status}: the stream route is not served yet"}
    if status != 200:
        raise RuntimeError(f"message/stream: {status}")
    first: list[float] = []
    total: list[float] = []
    errors = 0
    failures: dict[str, int] = {}  # what went wrong, by kind, so a failing run says why

    async def sender(index: int, seconds: float) -> None:
        nonlocal errors
        own = players[index :: args.stream_concurrency]
        deadline = time.perf_counter() + seconds
        sent = 0
        while time.perf_counter() < deadline:
            body = {"message": MESSAGE, "user_session_id": own[sent % len(own)]}
            sent += 1
            try:
                outcome = await stream_once(http, url, body, headers)
            except aiohttp.ClientError as error:
                outcome = f"{type(error).__name__}: {error}"
            if isinstance(outcome, str):
                errors += 1
                failures[outcome[:120]] = failures.get(outcome[:120], 0) + 1
            elif measuring:
                first.append(outcome[0])
                total.append(outcome[1])

    measuring = False
    await asyncio.gather(*(sender(index, args.warmup) for index in range(args.stream_concurrency)))
    errors, measuring = 0, True
    failures.clear()
    started = time.perf_counter()
    await asyncio.gather(*(sender(index, args.stream_seconds) for index in range(args.stream_concurrency)))
    elapsed = time.perf_counter() - started
    closed = {
        "concurrency": args.stream_concurrency,
        "to_metadata": summary(first, elapsed, errors),
        "to_done": summary(total, elapsed, errors),
    }
    # Open loop at a set rate below capacity (as bench/turns.py measures reply latency): a latency, not a
    # queue. One stream starts every 1/rate seconds, round-robin over the players (each player's streams are
    # seconds apart, so no two of one player overlap).
    opened_first: list[float] = []
    opened_total: list[float] = []
    opened_errors = 0

    async def one(player: str) -> None:
        nonlocal opened_errors
        try:
            outcome = await stream_once(http, url, {"message": MESSAGE, "user_session_id": player}, headers)
        except aiohttp.ClientError as error:
            outcome = f"{type(error).__name__}: {error}"
        if isinstance(outcome, str):
            opened_errors += 1
            failures[outcome[:120]] = failures.get(outcome[:120], 0) + 1
        else:
            opened_first.append(outcome[0])
            opened_total.append(outcome[1])

    tasks = []
    started = time.perf_counter()
    for index in range(int(args.stream_rate * args.stream_seconds)):
        delay = started + index / args.stream_rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(players[index % len(players)])))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    return {
        "closed": closed,
        "open": {
            "rate": args.stream_rate,
            "to_metadata": summary(opened_first, elapsed, opened_errors),
            "to_done": summary(opened_total, elapsed, opened_errors),
        },
        "failures": failures,
    }


async def bench(args, base: str, bare: str, api_key: str, stack: Stack) -> dict:
    headers = {"X-API-Key": api_key}
    await wait_http(f"{base}/v1/llms.txt", stack)
    await wait_http(f"{bare}/messages", stack)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        persona_id, players = await npc_setup(http, base, headers, PLAYERS)
        results = {"messages": await phase_messages(args, http, base, bare, headers, persona_id, players, stack)}
        results["stream"] = await phase_stream(args, http, base, headers, persona_id, players)
    return results


def report(args, results: dict) -> dict:
    messages, stream = results["messages"], results["stream"]
    checks = {"message_ratio_at_least_0.35": messages["ratio"] >= TARGETS["message_ratio_at_least_0.35"]}
    rows = [
        (f"bare DRF insert, c={args.concurrency}", messages["bare"]),
        (f"NPC message (matcher + scripted), c={args.concurrency}", messages["npc_message"]),
    ]
    if "skipped" not in stream:
        opened, closed = stream["open"], stream["closed"]
        p50 = opened["to_metadata"]["p50_ms"]
        checks["metadata_p50_at_most_20ms"] = p50 is not None and p50 <= TARGETS["metadata_p50_at_most_20ms"]
        rows.append((f"stream to metadata, open loop {opened['rate']}/s", opened["to_metadata"]))
        rows.append((f"stream to done, open loop {opened['rate']}/s", opened["to_done"]))
        rows.append((f"stream to metadata, closed loop c={closed['concurrency']}", closed["to_metadata"]))
        rows.append((f"stream to done, closed loop c={closed['concurrency']}", closed["to_done"]))
    print()
    print(f"{'phase':<48} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7}")
    for label, fig in rows:
        p50, p99 = (fig[key] if fig[key] is not None else "-" for key in ("p50_ms", "p99_ms"))
        print(f"{label:<48} {fig['per_second']:>9} {p50:>9} {p99:>9} {fig['errors']:>7}")
    split = messages["npc_message"]["cpu_ms_per_message"]
    print("\nCPU per NPC message (ms): " + ", ".join(f"{name} {value}" for name, value in split.items()))
    print(f"NPC message / bare throughput: {messages['ratio']}x (target >= 0.35)")
    if "skipped" in stream:
        print(f"stream phase skipped: {stream['skipped']}")
    else:
        opened = stream["open"]
        p50 = opened["to_metadata"]["p50_ms"]
        print(f"stream time to metadata p50, open loop {opened['rate']}/s: {p50} ms (target <= 20 ms)")
        for failure, count in stream["failures"].items():
            print(f"stream failures: {count} x {failure}")
    print("targets: " + ", ".join(f"{name} {'PASS' if ok else 'FAIL'}" for name, ok in checks.items()))
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--web", help="command serving the API instead of the Procfile's web line")
    parser.add_argument("--database", default="dramatis_bench_npc", help="database to (re)create for the stack")
    parser.add_argument("--redis-db", type=int, default=14, help="Redis db number for the stack (flushed)")
    parser.add_argument("--concurrency", type=int, default=32, help="phase (a) concurrent senders")
    parser.add_argument("--seconds", type=float, default=10.0, help="phase (a) measuring time per side")
    parser.add_argument("--stream-concurrency", type=int, default=8)
    parser.add_argument("--stream-seconds", type=float, default=10.0)
    parser.add_argument("--stream-rate", type=float, default=30.0, help="open-loop streams started per second")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--quick", action="store_true", help="short phases for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.stream_seconds, args.warmup = 4.0, 4.0, 1.0
    # What bench/turns.py's stack_start reads: this checkout, no --target, the bare view, no Celery worker,
    # and the offline scripted provider instead of a model server.
    args.tree, args.target, args.api_key, args.no_bare = str(ROOT), None, None, False
    args.workers, args.llm = 0, "scripted"

    def run(stack: Stack) -> None:
        targets = stack_start(args, stack)
        results = asyncio.run(bench(args, targets.base, targets.bare, targets.api_key, stack))
        results["stack"] = {"web": targets.web, "served_from": targets.served_from}
        figures_write("npc", args=args, results=results, targets=report(args, results))

    with_stack(run)


if __name__ == "__main__":
    main()
