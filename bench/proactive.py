"""Proactive scheduler benchmark: one scan with 1,000 sessions due among 1,000,000, and among 100,000.

Usage::

    .venv/bin/python bench/proactive.py                  # 1,000,000 then 100,000 sessions, 1,000 due (~1-2 min)
    .venv/bin/python bench/proactive.py --totals 200000 20000 --due 500 --runs 9

Needs PostgreSQL on 127.0.0.1:5432 (user ``postgres``, trust auth); the script drops and re-creates the database
``dramatis_bench_proactive`` (``--database``), migrates it, and fills it with ``INSERT ... SELECT
generate_series`` (not the ORM, which would take minutes). Of the sessions, 30% have proactive on; ``--due``
of them (spread evenly over the table) are due now and the other enabled ones are due at some time in the
coming week; the rest have no due time. The same 1,000 sessions are due at every total: the table grows around
them. Nothing is started besides this process; no network traffic leaves 127.0.0.1.

What each figure is (median over ``--runs`` runs after one warm-up, each in a transaction rolled back
afterwards, so every run sees the same rows):

- ``claim query``: the scheduler's real claim, ``services.proactive_scheduling.due_sessions_locked`` with a limit of
  ``--due`` (every due session in one batch): ``SELECT id, due ... WHERE proactive_enabled AND due IS NOT
  NULL AND due <= now ORDER BY due LIMIT n FOR NO KEY UPDATE SKIP LOCKED``, rows fetched and locked.
  Target: under 100 ms, and within 2x between the two totals.
- ``full scan``: ``services.proactive_scan()`` itself, end to end, in its production batches (one transaction
  each, a constant number of statements per batch): the claim, the gates rechecked under the lock (controls,
  newest messages, turns in flight, recent sends), the ledger rows, the due-time and cursor UPDATE, the
  initiate runs and their ``run.status`` events written, and the event sinks' ``record`` (the production
  sinks of ``config/settings/base.py``). Not included: the dispatch after commit (the transaction is rolled back,
  so no on-commit callback runs, and no turn executes). Target: 1,000 due sessions in under 1 s; it grows
  with the due count, so it should be about equal at both totals.
- ``plan``: the first line of ``EXPLAIN ANALYZE`` of the claim query at that total, showing the partial index.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _database_recreate(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _django_setup(database: str) -> None:
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{database}"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-proactive")
    os.environ.setdefault("DRAMATIS_VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"], check=True, env=os.environ
    )
    import django

    django.setup()


def _owner():
    from apps.accounts import services as accounts_services
    from apps.characters import services as character_services

    app = accounts_services.app_create(name="proactive bench")
    published = character_services.character_publish(
        app=app, data={"slug": "luna", "display_name": "Luna", "greeting": "hi!"}
    )
    return app, published.character


def _sessions_insert(*, app, character, first: int, last: int, due_every: int | None) -> None:
    """Sessions ``first``..``last`` (numbers in their ids). Every ``due_every``-th is due now (within the last
    half hour); 30% of the others have proactive on with a due time between an hour and a week from now."""
    from django.db import connection

    from apps.conversations.models import Session

    table = Session._meta.db_table
    due_clause = f"g %% {due_every} = 0" if due_every else "false"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (id, app_id, character_id, character_version_id, external_user_ref,
                proactive_enabled, last_cursor, user_turn_count, proactive_controls, timezone,
                quiet_hours_start, quiet_hours_end, proactive_next_due_at, created_at, updated_at)
            SELECT 'sess_bench' || lpad(g::text, 18, '0'), %s, %s, %s, 'user_' || g,
                ({due_clause}) OR (g %% 10 < 3), 0, 0, '{{}}'::jsonb, 'UTC', NULL, NULL,
                CASE
                    WHEN {due_clause} THEN now() - (g %% 1800) * interval '1 second'
                    WHEN g %% 10 < 3 THEN now() + interval '1 hour' + (g %% 604800) * interval '1 second'
                END,
                now() - interval '2 days', now() - interval '2 days'
            FROM generate_series(%s, %s) AS g
            """,  # noqa: S608 - numbers and our own table name only
            [app.id, character.id, character.current_version_id, first, last],
        )
        cursor.execute(f"VACUUM ANALYZE {table}")


def _median_ms(function, runs: int) -> tuple[float, list[float]]:
    from django.db import transaction

    samples = []
    for index in range(runs + 1):
        with transaction.atomic():
            started = time.perf_counter()
            function()
            elapsed = (time.perf_counter() - started) * 1000
            transaction.set_rollback(True)
        if index:  # the first run warms the caches
            samples.append(elapsed)
    return statistics.median(samples), samples


def _measure(total: int, due: int, runs: int) -> dict:
    from django.db import connection, transaction

    from apps.conversations import services
    from apps.conversations.models import Session
    from apps.conversations.services.proactive_scheduling import due_sessions_locked
    from apps.core import clock

    def claim() -> None:
        rows = list(due_sessions_locked(now=clock.now(), limit=due))
        assert len(rows) == due, len(rows)

    def full_scan() -> None:
        result = services.proactive_scan()
        assert len(result.run_ids) == due, (result.examined, len(result.run_ids))

    claim_ms, claim_samples = _median_ms(claim, runs)
    scan_ms, scan_samples = _median_ms(full_scan, max(3, runs // 3))
    with transaction.atomic(), connection.cursor() as cursor:  # FOR UPDATE compiles only in a transaction
        sql, params = due_sessions_locked(now=clock.now(), limit=due).query.sql_with_params()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
        transaction.set_rollback(True)
    index_line = next((line.strip() for line in plan if "session_proactive_due" in line), plan[0].strip())
    return {
        "total": Session.objects.count(),
        "claim_ms": claim_ms,
        "claim_samples": claim_samples,
        "scan_ms": scan_ms,
        "scan_samples": scan_samples,
        "plan": index_line,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--totals", type=int, nargs="+", default=[1_000_000, 100_000])
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--database", default="dramatis_bench_proactive")
    args = parser.parse_args()

    _database_recreate(args.database)
    _django_setup(args.database)
    from django.conf import settings
    from django.db import connection

    app, character = _owner()
    # Build the smallest table first and grow it, so the same --due sessions are due at every total.
    results = {}
    built = 0
    smallest = min(args.totals)
    if smallest % args.due:
        parser.error("the smallest total must be a multiple of --due")
    for total in sorted(args.totals):
        started = time.perf_counter()
        due_every = smallest // args.due
        if built < smallest:
            _sessions_insert(app=app, character=character, first=1, last=smallest, due_every=due_every)
            built = smallest
        if built < total:
            _sessions_insert(app=app, character=character, first=built + 1, last=total, due_every=None)
            built = total
        print(f"built {total:>9,} sessions in {time.perf_counter() - started:5.1f} s", flush=True)
        results[total] = _measure(total, args.due, args.runs)

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    print()
    print(f"PostgreSQL {version}; {args.due:,} due; batch size in the full scan {settings.PROACTIVE_SCAN_BATCH_SIZE}")
    print("full scan = claim + gates + ledger + runs + run.status events + sinks' record; dispatch after commit not")
    print(f"included (rolled back; no turn executes); event sinks: {', '.join(settings.EVENT_SINKS)}")
    print(f"{'sessions':>10}  {'claim query (median ms)':>24}  {'full scan (median ms)':>22}  plan")
    for total in args.totals:
        figures = results[total]
        print(f"{total:>10,}  {figures['claim_ms']:>24.2f}  {figures['scan_ms']:>22.1f}  {figures['plan']}")
    largest, smallest_total = max(args.totals), min(args.totals)
    claim_ratio = results[largest]["claim_ms"] / results[smallest_total]["claim_ms"]
    scan_ratio = results[largest]["scan_ms"] / results[smallest_total]["scan_ms"]
    print()
    print(f"claim query {largest:,} / {smallest_total:,}: {claim_ratio:.2f}x (target <= 2x)")
    print(f"full scan   {largest:,} / {smallest_total:,}: {scan_ratio:.2f}x")
    verdict = results[largest]["claim_ms"] < 100 and claim_ratio <= 2
    print(f"target (claim < 100 ms with {args.due:,} due, within 2x): {'met' if verdict else 'NOT met'}")
    scan_verdict = all(figures["scan_ms"] < 1000 for figures in results.values())
    print(f"target (full scan of {args.due:,} due < 1 s at every total): {'met' if scan_verdict else 'NOT met'}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
