"""Usage ledger and budgets benchmark on PostgreSQL: GET /v1/usage's report over a large ledger, and the
reserve + settle pair every turn makes, with and without a budget (one hot app-wide counter row).

Usage::

    .venv/bin/python bench/usage.py            # 1,000,000 ledger rows, about 1-2 minutes
    .venv/bin/python bench/usage.py --quick    # 200,000 rows, fewer cycles

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth); the script drops and re-creates the database
``dramatis_bench_usage``. Figures are printed and written to ``var/bench/usage.json``.

(a) report: ``accounts.selectors.usage_report`` for one app holding 10% of the rows (the other 90% belong to
    other apps), over the last 30 days, totals only and grouped by each dimension, and for one end-user;
    the median of 5 runs each (what the view adds on top is serialising at most ``limit`` groups).
(b) metering: ``usage_reserve`` then ``usage_settle`` (each its own transaction, as in a turn) from 8
    threads for ``--cycles`` cycles each: with no budget, with a budget per end-user (one counter row per
    thread), and with one app-wide budget (every thread on the same counter row). Cycles per second.
"""

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "dramatis_bench_usage"


def _prepare_environment() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-usage")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("REDIS_URL", None)


def _recreate_database() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def _populate(total: int) -> str:
    """``total`` settled ledger rows over 60 days in ten apps; returns the id of the app with 10% of them."""
    from django.db import connection

    from apps.accounts.models import App, UsageRecord
    from apps.core.ids import new_id

    apps = [App.objects.create(name=f"bench {index}") for index in range(10)]
    target = apps[0].id
    now = datetime.now(UTC)
    rng = random.Random(7)
    models = [("house-chat", "openai_compatible"), ("fast", "openai_compatible"), ("scripted", "scripted")]
    columns = (
        "id, app_id, run_ref, session_id, character, external_user_ref, model, provider, resource_type, status, "
        "outcome, input_tokens, output_tokens, reserved_credits, credits, holds, created_at, settled_at"
    )
    table = UsageRecord._meta.db_table
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for index in range(total):
            app_id = target if index % 10 == 0 else apps[1 + index % 9].id
            model, provider = models[index % 3]
            created = now - timedelta(seconds=rng.randrange(60 * 86400))
            tokens_in, tokens_out = rng.randrange(300, 3000), rng.randrange(20, 400)
            credits = Decimal(tokens_in + 3 * tokens_out) / 1000
            copy.write_row(
                (
                    new_id("use"),
                    app_id,
                    new_id("run"),
                    f"sess_{index % 10_000:024d}",
                    f"character-{index % 20}",
                    f"user-{index % 2_000}",
                    model,
                    provider,
                    "chat_turn" if index % 7 else "proactive_turn",
                    "settled",
                    "succeeded",
                    tokens_in,
                    tokens_out,
                    credits * 2,
                    credits,
                    "[]",
                    created,
                    created,
                )
            )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")  # noqa: S608
    return target


def _median_ms(function, runs: int = 5) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 1)


def _report_phase(app_id: str) -> dict:
    from apps.accounts.models import App
    from apps.accounts.selectors import USAGE_GROUP_COLUMNS, usage_report

    app = App.objects.get(pk=app_id)
    start = datetime.now(UTC) - timedelta(days=30)
    figures = {"totals_only_ms": _median_ms(lambda: usage_report(app=app, start=start))}
    for dimension in USAGE_GROUP_COLUMNS:
        figures[f"group_by_{dimension}_ms"] = _median_ms(
            lambda dimension=dimension: usage_report(app=app, start=start, group_by=dimension)
        )
    figures["one_end_user_by_character_ms"] = _median_ms(
        lambda: usage_report(app=app, start=start, group_by="character", filters={"external_user": "user-17"})
    )
    return figures


def _metering_phase(cycles: int, threads: int = 8) -> dict:
    from django.db import connection

    from apps.accounts import services

    figures = {}
    for label in ("no_budget", "budget_per_end_user", "one_app_wide_budget"):
        app = services.app_create(name=f"metering {label}")
        if label == "budget_per_end_user":
            for worker in range(threads):
                services.budget_policy_set(app=app, external_user_ref=f"user-{worker}", limit_credits=Decimal(10**8))
        if label == "one_app_wide_budget":
            services.budget_policy_set(app=app, limit_credits=Decimal(10**8))
        barrier = threading.Barrier(threads)

        def work(worker: int, app=app, label=label, barrier=barrier) -> None:
            try:
                barrier.wait()
                for cycle in range(cycles):
                    run_ref = f"run_{label[:6]}{worker:02d}{cycle:08d}"
                    subject = services.UsageSubject(
                        app_id=app.id, resource_type="chat_turn", external_user_ref=f"user-{worker}", run_ref=run_ref
                    )
                    services.usage_reserve(subject=subject, credits=Decimal("1.2"), may_exist=False)
                    services.usage_settle(
                        run_ref=run_ref, input_tokens=900, output_tokens=80, credits=Decimal("0.3"), outcome="ok"
                    )
            finally:
                connection.close()

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(work, range(threads)))
        elapsed = time.perf_counter() - started
        figures[f"{label}_cycles_per_s"] = round(threads * cycles / elapsed)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cycles", type=int, default=200, help="reserve+settle cycles per thread and case")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.cycles = 200_000, 50

    _prepare_environment()
    _recreate_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    app_id = _populate(args.rows)
    print(
        f"ledger: {args.rows:,} rows in {time.perf_counter() - started:.1f} s ({args.rows // 10:,} in the app measured)"
    )

    figures = {"rows": args.rows, "report": _report_phase(app_id), "metering": _metering_phase(args.cycles)}
    print("(a) usage report, median of 5 (ms):")
    for name, value in figures["report"].items():
        print(f"    {name:<36} {value:>8}")
    print("(b) reserve + settle from 8 threads (cycles/s):")
    for name, value in figures["metering"].items():
        print(f"    {name:<36} {value:>8}")
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "usage.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
