"""Memory over a long conversation: prompt tokens per turn against a naive full-history prompt, and what memory
costs a turn's worker time (memory on vs off, in the same run).

Usage::

    .venv/bin/python bench/memory.py                 # 2,000 turns, then 300 turns each with memory on and off
    .venv/bin/python bench/memory.py --turns 500 --latency-turns 100

Needs PostgreSQL on 127.0.0.1:5432 (the script drops and re-creates ``dramatis_bench_memory``) and Redis on
127.0.0.1:6379 (db 10, flushed). Turns run in this process on the offline ``scripted`` model with the production
settings: ``message_send`` writes the message, then ``run_execute`` runs the worker's half, timed. The summaries a
turn queues run right after it, untimed, as a worker beside it would run them (they are never in a reply's path);
their own cost is printed apart. Turn 3 says a fact ("my sister is called Mara"); the last turn asks for it.

Prints, for turns 10, 100, 1,000 and 2,000: the prompt tokens the turn sent (our count, within the budget), the
provider's reported prompt tokens, and the tokens a prompt of the whole history would take. Then the worker's
CPU and wall time per turn with memory on and off (medians and p90; the sessions alternate turn by turn so both
see the same machine). Figures go to ``var/bench/memory.json``.
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from inprocess import database_recreate, environment_prepare, figures_write  # noqa: E402

DATABASE = "dramatis_bench_memory"
REDIS_DB = 10
TOPICS = ["the weather", "my commute", "a film I saw", "dinner plans", "the gym", "a book", "work meetings"]
FACT = "By the way, my sister is called Mara."
QUESTION = "Remind me, what is my sister called?"
CHECKPOINTS = (10, 100, 1000, 2000)


def filler(index: int) -> str:
    return f"Turn {index}: nothing much, just thinking about {TOPICS[index % len(TOPICS)]} and how the day went."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--latency-turns", type=int, default=300)
    args = parser.parse_args()
    environment_prepare(database=DATABASE, redis_db=REDIS_DB, LLM_BASE_URL="", LLM_CHAT_MODEL="scripted")
    database_recreate(DATABASE)
    import os

    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True, env=os.environ)
    _run(args)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _run(args: argparse.Namespace) -> None:
    import os

    import django

    django.setup()
    import redis
    from django.conf import settings

    from apps.accounts import services as accounts_services
    from apps.characters import services as characters_services
    from apps.conversations import services
    from apps.conversations.models import Run
    from apps.core import executor
    from apps.llm import selectors as llm_selectors

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    queued: list[tuple] = []
    submit = executor.submit

    def hold(task, *task_args, countdown=0.0):
        if str(task).endswith("memory_summarise_task"):
            queued.append(task_args)
        else:
            submit(task, *task_args, countdown=countdown)

    executor.submit = hold
    app = accounts_services.app_create(name="bench memory")
    character = {
        "slug": "bench-luna",
        "display_name": "Luna",
        "greeting": "Hi, I'm Luna.",
        "profile": {"visible_bio": "A painter who lives by the sea and loves long talks.", "city": "Lisbon"},
        "voice_samples": ["Oh, that sounds lovely!", "Tell me more.", "Hmm, I see what you mean."],
    }
    characters_services.character_publish(app=app, data=character)
    summary_seconds: list[float] = []

    def turn(session_id: str, text: str) -> tuple[Run, float, float]:
        sent = services.message_send(app=app, session_id=session_id, text=text, dispatch=False)
        cpu, wall = time.process_time(), time.perf_counter()
        outcome = services.run_execute(run_id=sent.run_ref)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        assert outcome.status == "succeeded", outcome
        while queued:
            started = time.perf_counter()
            services.memory_summarise(session_id=queued.pop(0)[0])
            summary_seconds.append(time.perf_counter() - started)
        return Run.objects.get(pk=sent.run_ref), cpu, wall

    # --- prompt size over a long conversation ---
    session = services.session_create(app=app, character_slug="bench-luna", external_user_ref="long")
    history_tokens = llm_selectors.tokens_count(character["greeting"]) + 4
    rows = []
    started = time.perf_counter()
    for index in range(1, args.turns + 1):
        text = FACT if index == 3 else QUESTION if index == args.turns else filler(index)
        run, _, _ = turn(session.id, text)
        reply = run.events.filter(event_type="message.created").first()
        history_tokens += llm_selectors.tokens_count(text) + 4
        if reply is not None:
            history_tokens += llm_selectors.tokens_count(reply.payload.get("text", "")) + 4
        if index in CHECKPOINTS or index == args.turns:
            persona = next(part["tokens"] for part in run.context["parts"] if part["source"] == "persona")
            rows.append(
                {
                    "turn": index,
                    "prompt_tokens": run.context["budget"]["used"],
                    "budget": run.context["budget"]["limit"],
                    "reported": run.prompt_tokens,
                    "naive_full_history": history_tokens + persona,
                    "facts": [fact["text"] for fact in run.context["facts"]],
                }
            )
    long_seconds = time.perf_counter() - started
    print(f"{args.turns} turns in {long_seconds:.1f} s; tokenizer {llm_selectors.tokenizer_name()}")
    print(f"{'turn':>6} {'prompt':>7} {'budget':>7} {'reported':>9} {'naive':>8}")
    for row in rows:
        print(
            f"{row['turn']:>6} {row['prompt_tokens']:>7} {row['budget']:>7} {row['reported']:>9} "
            f"{row['naive_full_history']:>8}"
        )
    recalled = FACT.split("called ")[1].rstrip(".") in " ".join(rows[-1]["facts"])
    print(f"the fact from turn 3 recalled at turn {args.turns}: {recalled} ({rows[-1]['facts']})")
    if summary_seconds:
        print(
            f"summaries: {len(summary_seconds)}, p50 {statistics.median(summary_seconds) * 1000:.1f} ms, "
            f"max {max(summary_seconds) * 1000:.1f} ms (offline extractor; background, untimed in the turns)"
        )

    # --- memory on vs off, alternating turn by turn ---
    on = services.session_create(app=app, character_slug="bench-luna", external_user_ref="latency-on")
    off = services.session_create(app=app, character_slug="bench-luna", external_user_ref="latency-off")
    timings: dict[str, dict[str, list[float]]] = {"on": {"cpu": [], "wall": []}, "off": {"cpu": [], "wall": []}}
    for index in range(1, args.latency_turns + 1):
        text = FACT if index == 3 else filler(index)
        for label, target in (("on", on), ("off", off)):
            settings.MEMORY_ENABLED = label == "on"
            _, cpu, wall = turn(target.id, text)
            if index > 20:  # past the first turns' warm-up (emotion session, caches)
                timings[label]["cpu"].append(cpu * 1000)
                timings[label]["wall"].append(wall * 1000)
    settings.MEMORY_ENABLED = True
    latency = {}
    for label in ("on", "off"):
        cpu, wall = timings[label]["cpu"], timings[label]["wall"]
        latency[label] = {
            "cpu_p50_ms": round(statistics.median(cpu), 3),
            "cpu_p90_ms": round(_percentile(cpu, 0.9), 3),
            "wall_p50_ms": round(statistics.median(wall), 3),
            "wall_p90_ms": round(_percentile(wall, 0.9), 3),
        }
        print(
            f"memory {label:>3}: worker CPU p50 {latency[label]['cpu_p50_ms']:.2f} ms p90 "
            f"{latency[label]['cpu_p90_ms']:.2f}; wall p50 {latency[label]['wall_p50_ms']:.2f} ms p90 "
            f"{latency[label]['wall_p90_ms']:.2f} ({len(cpu)} turns)"
        )
    added = latency["on"]["wall_p50_ms"] - latency["off"]["wall_p50_ms"]
    print(f"memory adds {added:+.2f} ms (wall p50) to a turn's worker time; target <= 3 ms")
    figures_write(
        "memory",
        {"turns": args.turns, "checkpoints": rows, "latency": latency, "added_wall_p50_ms": round(added, 3)},
    )


if __name__ == "__main__":
    main()
