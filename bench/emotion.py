"""Emotion benchmark: the engine's pure functions, then ``POST /emotion/v1/turn`` under daphne against the
bare Django+DRF insert view, in one run.

Usage::

    .venv/bin/python bench/emotion.py            # engine, then start everything, measure, stop (about 3 min)
    .venv/bin/python bench/emotion.py --quick    # shorter phases (a smoke run, noisier figures)
    .venv/bin/python bench/emotion.py --no-http  # the engine part only (= bench/emotion_engine.py)

The engine part is ``bench/emotion_engine.py``'s ``engine_section()`` (engine step target: under 100 µs).
For the HTTP part:

Without ``--target`` the script starts on 127.0.0.1 only, and stops by process group at exit (also on Ctrl-C):

- the web process exactly as the ``Procfile`` names it (daphne ``config.asgi:application``) in production
  mode: PostgreSQL (127.0.0.1:5432) with its own freshly migrated database ``dramatis_bench_emotion`` and
  Redis on its own db (``--redis-db``, flushed). ``EMOTION_APPRAISER=lexicon``: every turn is appraised by
  the engine's offline lexicon appraiser; no worker is needed (a turn is answered inside the request).
- the bare reference of ``bench/turns.py`` (``bench/bare/``: one DRF view that inserts one row), served by
  daphne on the same Postgres server.

The load generator is this process (aiohttp, one event loop). Each phase is a closed loop at ``--concurrency``
for ``--seconds``; after one warm-up of each, ``--rounds`` rounds (3) run the four phases in turn, and the
medians are reported. The phases: first the bare view, then ``POST /emotion/v1/turn`` with the simple form
``{sessionId, message}`` spread round-robin over ``--sessions`` persona sessions made from the five presets.
Then the persona API of molroo's SDK 0.7 (``X-API-Key``): ``POST /emotion/v1/personas/{id}/perceive`` with a
given appraisal (no appraiser at all: the SDK's hot path), one persona per sender, and
``POST /emotion/v1/worlds/{id}/interact`` with a default action, one two-persona world per sender.
``req/s`` counts 2xx answers; ``ratio`` is ours / bare. Targets: the session turn ``>= 0.5`` (within 2x of the
bare insert view), perceive with a given appraisal ``>= 0.6``; interact is reported. Figures are printed and
written to ``var/bench/emotion.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emotion_engine import engine_print, engine_section  # noqa: E402  (the engine part)
from turns import (  # noqa: E402  (the shared pieces of the turn benchmark)
    BARE_BODY,
    BIN,
    OUT_DIR,
    ROOT,
    Stack,
    bare_command,
    database_recreate,
    figures_write,
    free_port,
    post_closed_loop,
    procfile_command,
    run_checked,
    wait_http,
)

PRESETS = ("cheerful_companion", "stoic_mentor", "anxious_helper", "playful_trickster", "empathetic_listener")
MESSAGES = (
    "Thank you so much, you really helped me today!",
    "I'm so tired of this, nothing ever works out for me.",
    "Guess what, I got the job!",
    "You are useless and I hate talking to you.",
    "Can you tell me a story about the sea?",
)


def http_stack_start(args, stack: Stack) -> tuple[str, str, str]:
    """Start the bare reference and the web process; return (base URL, bare URL, API key)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "LLM_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"

    bare_db = "dramatis_bench_bare"
    database_recreate(bare_db)
    bare_env = {**env, "BARE_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{bare_db}"}
    run_checked([sys.executable, "manage.py", "migrate", "-v0"], bare_env, ROOT / "bench" / "bare")
    bare_port = free_port()
    bare_env["PORT"] = str(bare_port)  # the bare view under the web line's server and flags
    stack.start(
        "bare", ["bash", "-c", f"exec {bare_command(procfile_command('web'))}"], bare_env, ROOT / "bench" / "bare"
    )

    import redis

    database_recreate(args.database)
    redis.Redis.from_url(f"redis://127.0.0.1:6379/{args.redis_db}").flushdb()
    web_port = free_port()
    app_env = {
        **env,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "DJANGO_SECRET_KEY": "bench-only-not-secret",
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DRAMATIS_VAR_DIR": str(OUT_DIR / "var"),
        "LOG_LEVEL": "WARNING",
        "PORT": str(web_port),
        "EMOTION_APPRAISER": "lexicon",  # the offline appraiser, as an operator without a model would set it
    }
    run_checked([sys.executable, "manage.py", "migrate", "-v0"], app_env)
    api_key = run_checked([sys.executable, "manage.py", "createapikey", "--app", "bench-emotion"], app_env).strip()
    stack.start("web", ["bash", "-c", f"exec {procfile_command('web')}"], app_env)
    return f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{bare_port}", api_key


async def http_bench(args, base: str, bare: str, api_key: str, stack: Stack) -> dict:
    """Make the rows (sessions, personas, worlds), warm every phase up, then run ``--rounds`` rounds of the four
    phases back to back. Each phase reports its median round; each ratio is the median of the rounds' ratios
    to that round's bare phase, so a slow spell of the machine moves both sides of a ratio."""
    headers = {"Authorization": f"Bearer {api_key}"}
    await wait_http(f"{base}/v1/llms.txt", stack)
    await wait_http(f"{bare}/messages", stack)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        sessions = []
        for index in range(args.sessions):
            body = {"preset": PRESETS[index % len(PRESETS)]}
            async with http.post(f"{base}/emotion/v1/persona", json=body, headers=headers) as resp:
                if resp.status != 201:
                    raise RuntimeError(f"persona create: {resp.status} {await resp.text()}")
                sessions.append((await resp.json())["sessionId"])
        phases = {"bare": _bare_phase(args, http, bare), "turn": _turn_phase(args, http, base, headers, sessions)}
        phases.update(await sdk_phases(args, http, base, api_key))
        for run in phases.values():
            await run(args.warmup)
        rounds: dict[str, list[dict]] = {name: [] for name in phases}
        for _ in range(args.rounds):
            for name, run in phases.items():
                rounds[name].append(await run(args.seconds))
    results: dict = {name: _median_round(figures) for name, figures in rounds.items()}
    for name, key in (("turn", "ratio"), ("perceive", "perceive_ratio"), ("interact", "interact_ratio")):
        pairs = zip(rounds[name], rounds["bare"], strict=True)
        ratios = [ours["per_second"] / bare["per_second"] for ours, bare in pairs]
        results[key] = round(statistics.median(ratios), 3)
        results[f"{key}_rounds"] = [round(ratio, 3) for ratio in ratios]
    results["rounds"] = args.rounds
    return results


def _median_round(figures: list[dict]) -> dict:
    return sorted(figures, key=lambda figure: figure["per_second"])[len(figures) // 2]


def _bare_phase(args, http, bare: str):
    async def run(seconds: float) -> dict:
        return await post_closed_loop(http, [f"{bare}/messages"], BARE_BODY, {}, args.concurrency, seconds)

    return run


def _turn_phase(args, http, base: str, headers: dict, sessions: list[str]):
    turn_url = f"{base}/emotion/v1/turn"

    async def run(seconds: float) -> dict:
        # One URL, many bodies: post_closed_loop sends one body, so each sender keeps to its own session.
        started = time.perf_counter()
        per_sender = await asyncio.gather(
            *(
                post_closed_loop(
                    http,
                    [turn_url],
                    {"sessionId": sessions[index % len(sessions)], "message": MESSAGES[index % len(MESSAGES)]},
                    headers,
                    1,
                    seconds,
                )
                for index in range(args.concurrency)
            )
        )
        return merge(per_sender, time.perf_counter() - started)

    return run


APPRAISAL = {
    "goal_relevance": 0.7,
    "goal_congruence": 0.6,
    "expectedness": 0.5,
    "controllability": 0.5,
    "agency": -0.5,
    "norm_compatibility": 0.6,
}
CONFIG = {"personality": {"O": 0.6, "C": 0.5, "E": 0.7, "A": 0.7, "N": 0.4, "H": 0.6}, "identity": {"name": "Sera"}}


async def _post(http, url: str, body: dict, headers: dict) -> dict:
    async with http.post(url, json=body, headers=headers) as resp:
        if resp.status not in (200, 201):
            raise RuntimeError(f"{url}: {resp.status} {await resp.text()}")
        return (await resp.json())["result"]


async def sdk_phases(args, http, base: str, api_key: str) -> dict:
    """The persona API's perceive (a given appraisal) and a world's interact, each sender on its own rows: make
    the personas and worlds, return the two phases."""
    headers = {"X-API-Key": api_key}
    personas = [
        (await _post(http, f"{base}/emotion/v1/personas", {"config": CONFIG}, headers))["personaId"]
        for _ in range(args.concurrency)
    ]
    perceive_urls = [f"{base}/emotion/v1/personas/{persona_id}/perceive" for persona_id in personas]
    perceive_bodies = [
        {
            "event": {
                "type": "chat_message",
                "sourceEntity": "bench",
                "payload": {"message": MESSAGES[i % 5]},
                "appraisal": APPRAISAL,
            }
        }
        for i in range(len(perceive_urls))
    ]
    worlds, targets = [], []
    for index in range(args.concurrency):
        world = await _post(http, f"{base}/emotion/v1/worlds", {"name": f"bench {index}"}, headers)
        members = [
            (await _post(http, f"{base}/emotion/v1/worlds/{world['id']}/personas", {"persona_id": p}, headers))["id"]
            for p in (personas[index], personas[(index + 1) % len(personas)])
        ]
        worlds.append(world["id"])
        targets.append(members)
    interact_urls = [f"{base}/emotion/v1/worlds/{world_id}/interact" for world_id in worlds]
    interact_bodies = [
        {"target_persona_id": target, "action_name": "compliment", "actor_id": actor, "actor_type": "persona"}
        for target, actor in targets
    ]

    def phase(urls: list[str], bodies: list[dict]):
        async def run(seconds: float) -> dict:
            return await post_closed_loop(http, urls, {}, headers, args.concurrency, seconds, bodies=bodies)

        return run

    return {"perceive": phase(perceive_urls, perceive_bodies), "interact": phase(interact_urls, interact_bodies)}


def merge(parts: list[dict], elapsed: float) -> dict:
    """Combine the per-sender summaries of one closed loop (request-weighted p50/p99 are approximate)."""
    n = sum(part["n"] for part in parts)
    weighted = [part for part in parts if part["n"]]

    def mean(key: str) -> float | None:
        return round(sum(part[key] * part["n"] for part in weighted) / n, 2) if n else None

    return {
        "n": n,
        "errors": sum(part["errors"] for part in parts),
        "seconds": round(elapsed, 2),
        "per_second": round(n / elapsed, 1) if elapsed else None,
        "p50_ms": mean("p50_ms"),
        "p99_ms": max((part["p99_ms"] for part in weighted), default=None),
    }


def report_http(args, results: dict) -> dict:
    print()
    print(f"{'phase':<48} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7}")
    rows = (
        ("bare", "bare DRF insert view"),
        ("turn", "POST /emotion/v1/turn (offline appraiser)"),
        ("perceive", "POST /personas/{id}/perceive (given appraisal)"),
        ("interact", "POST /worlds/{id}/interact (default action)"),
    )
    for key, label in rows:
        fig = results[key]
        print(f"{label:<48} {fig['per_second']:>10} {fig['p50_ms']:>9} {fig['p99_ms']:>9} {fig['errors']:>7}")
    ok = results["ratio"] >= 0.5
    perceive_ok = results["perceive_ratio"] >= 0.6

    def each(key: str) -> str:
        return f"rounds: {', '.join(str(ratio) for ratio in results[f'{key}_rounds'])}"

    print(f"\nmedians of {results['rounds']} rounds (each phase's median round; each ratio against its round's bare)")
    print(f"turn / bare throughput at c={args.concurrency}: {results['ratio']}x (target >= 0.5: {_verdict(ok)}; "
          f"{each('ratio')})")  # fmt: skip
    print(f"perceive / bare: {results['perceive_ratio']}x (target >= 0.6: {_verdict(perceive_ok)}; "
          f"{each('perceive_ratio')})")  # fmt: skip
    print(f"interact / bare: {results['interact_ratio']}x ({each('interact_ratio')})")
    return {"http_turn_within_2x_of_bare": ok, "perceive_at_least_0_6_of_bare": perceive_ok}


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="dramatis_bench_emotion", help="database to (re)create for the stack")
    parser.add_argument("--redis-db", type=int, default=13, help="Redis db number for the stack (flushed)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--sessions", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the four phases (medians are reported)")
    parser.add_argument("--engine-seconds", type=float, default=2.0, help="measuring time per engine phase")
    parser.add_argument("--no-http", action="store_true", help="only the engine part")
    parser.add_argument("--quick", action="store_true", help="short phases for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup, args.engine_seconds, args.rounds = 4.0, 1.0, 0.4, 1

    stack = Stack()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        engine_figures = engine_section(args.engine_seconds)
        engine_print(engine_figures)
        checks = {"engine_step_under_100us": engine_figures["step_within_target"]}
        results = {"engine": engine_figures}
        if not args.no_http:
            base, bare, api_key = http_stack_start(args, stack)
            results["http"] = asyncio.run(http_bench(args, base, bare, api_key, stack))
            checks.update(report_http(args, results["http"]))
        figures_write("emotion", args=args, results=results, targets=checks)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the stack", file=sys.stderr)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
